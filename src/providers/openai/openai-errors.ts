import { APIConnectionError, APIError } from 'openai/error';
import { ChatFailedCode } from '../../common/codes';
import { UpstreamFailure } from '../provider-stream';
import { networkCode, retryAfterMs } from '../upstream-headers';

/** `OpenAI` or `OpenRouter`: who failed, in messages written here. */
export type OpenAiCompatibleName = 'OpenAI' | 'OpenRouter';

/**
 * Maps what the OpenAI SDK throws before a stream starts to the codes Anthropic's failures get
 * (src/providers/anthropic/anthropic-errors.ts). Messages are written here, never copied from
 * upstream, since an upstream message could echo request content.
 */
export function classifyOpenAiError(error: unknown, name: OpenAiCompatibleName): UpstreamFailure {
  if (error instanceof APIConnectionError) {
    return new UpstreamFailure(ChatFailedCode.UPSTREAM_UNREACHABLE, `Could not reach ${name}`, {
      networkCode: networkCode(error),
    });
  }
  if (!(error instanceof APIError) || error.status === undefined) {
    return new UpstreamFailure(ChatFailedCode.UPSTREAM_ERROR, `${name} stream failed unexpectedly`);
  }
  const { status } = error;
  if (status === 401 || status === 403) {
    return new UpstreamFailure(ChatFailedCode.INVALID_PROVIDER_KEY, `${name} rejected the key used for this request`, {
      status,
    });
  }
  if (status === 429) {
    return new UpstreamFailure(ChatFailedCode.UPSTREAM_RATE_LIMITED, `${name} rate-limited this request`, {
      status,
      retryAfterMs: retryAfterMs(error.headers),
    });
  }
  if (status === 400 || status === 404 || status === 413 || status === 422) {
    return new UpstreamFailure(ChatFailedCode.UPSTREAM_BAD_REQUEST, `${name} refused the request as invalid`, {
      status,
    });
  }
  return new UpstreamFailure(ChatFailedCode.UPSTREAM_ERROR, `${name} returned an error`, { status });
}

/**
 * A stream that had started (HTTP 200) and then failed: an `error` data event (OpenRouter's
 * mid-generation errors), the connection cut, or the end without the usage chunk.
 */
export const openAiMidStreamFailure = (name: OpenAiCompatibleName): UpstreamFailure =>
  new UpstreamFailure(ChatFailedCode.UPSTREAM_ERROR, `The ${name} stream failed part-way`);
