export interface Bar {
  label: string;
  value: number;
  /** Text for the bar's tooltip and the chart's description. */
  detail: string;
}

/** A small SVG bar chart drawn by hand: one bar per item, its height relative to the largest. */
export function BarChart({ title, bars, unit }: { title: string; bars: Bar[]; unit: (value: number) => string }) {
  const width = 640;
  const height = 200;
  const top = 16;
  const bottom = 28;
  const max = Math.max(...bars.map((bar) => bar.value), 0);
  const slot = bars.length ? width / bars.length : width;
  const barWidth = Math.max(2, Math.min(48, slot * 0.7));
  const summary = bars.length
    ? `${title}: ${bars.map((bar) => `${bar.label} ${unit(bar.value)}`).join(', ')}`
    : `${title}: no data`;
  const labelEvery = Math.ceil(bars.length / 8);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={summary}>
        <line x1="0" y1={height - bottom} x2={width} y2={height - bottom} class="axis" />
        {bars.map((bar, index) => {
          const barHeight = max > 0 ? ((height - top - bottom) * bar.value) / max : 0;
          const x = index * slot + (slot - barWidth) / 2;
          return (
            <g>
              <rect
                x={x}
                y={height - bottom - barHeight}
                width={barWidth}
                height={Math.max(barHeight, bar.value > 0 ? 1 : 0)}
                class="bar"
              >
                <title>{bar.detail}</title>
              </rect>
              {index % labelEvery === 0 && (
                <text
                  x={index === 0 ? x : x + barWidth / 2}
                  y={height - 8}
                  text-anchor={index === 0 ? 'start' : 'middle'}
                  class="tick"
                >
                  {bar.label}
                </text>
              )}
            </g>
          );
        })}
        {max > 0 && (
          <text x="4" y="12" class="tick">
            max {unit(max)}
          </text>
        )}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}
