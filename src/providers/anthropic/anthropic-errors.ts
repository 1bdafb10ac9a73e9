import Anthropic from '@anthropic-ai/sdk';
import { ChatFailedCode } from '../../common/codes';
import { UpstreamFailure } from '../provider-stream';
import { networkCode, retryAfterMs } from '../upstream-headers';

const errorType = (error: InstanceType<typeof Anthropic.APIError>): string | undefined => {
  const body = error.error as { error?: { type?: unknown }; type?: unknown } | undefined;
  const type = body?.error?.type ?? body?.type;
  return typeof type === 'string' ? type : undefined;
};

/**
 * Maps what the Anthropic SDK throws to a specific, key-free failure. Messages are written
 * here, never copied from upstream, since an upstream message could echo request content.
 */
export function classifyAnthropicError(error: unknown): UpstreamFailure {
  if (error instanceof Anthropic.APIConnectionError) {
    return new UpstreamFailure(ChatFailedCode.UPSTREAM_UNREACHABLE, 'Could not reach Anthropic', {
      networkCode: networkCode(error),
    });
  }
  if (!(error instanceof Anthropic.APIError)) {
    return new UpstreamFailure(ChatFailedCode.UPSTREAM_ERROR, 'Anthropic stream failed unexpectedly');
  }
  const status = error.status;
  const type = errorType(error);
  if (status === 401 || status === 403 || type === 'authentication_error' || type === 'permission_error') {
    return new UpstreamFailure(
      ChatFailedCode.INVALID_PROVIDER_KEY,
      'Anthropic rejected the key used for this request',
      { status },
    );
  }
  if (status === 429 || type === 'rate_limit_error') {
    return new UpstreamFailure(ChatFailedCode.UPSTREAM_RATE_LIMITED, 'Anthropic rate-limited this request', {
      status,
      retryAfterMs: retryAfterMs(error.headers),
    });
  }
  if (status === 529 || type === 'overloaded_error') {
    return new UpstreamFailure(ChatFailedCode.UPSTREAM_OVERLOADED, 'Anthropic is overloaded', {
      status,
      retryAfterMs: retryAfterMs(error.headers),
    });
  }
  if (
    status === 400 ||
    status === 404 ||
    status === 413 ||
    type === 'invalid_request_error' ||
    type === 'not_found_error'
  ) {
    return new UpstreamFailure(ChatFailedCode.UPSTREAM_BAD_REQUEST, 'Anthropic refused the request as invalid', {
      status,
    });
  }
  return new UpstreamFailure(ChatFailedCode.UPSTREAM_ERROR, 'Anthropic returned an error', { status });
}

/** A stream that had started (HTTP 200) and then failed: an `error` event, or the connection cut. */
export const midStreamFailure = (): UpstreamFailure =>
  new UpstreamFailure(ChatFailedCode.UPSTREAM_ERROR, 'The Anthropic stream failed part-way');
