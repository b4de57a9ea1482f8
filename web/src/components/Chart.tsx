import { useEffect, useRef } from 'react';
import { AreaSeries, ColorType, createChart, LineSeries, type IChartApi, type UTCTimestamp } from 'lightweight-charts';

export interface ChartLine {
  name: string;
  color: string;
  /** Points in time order; values are for drawing only (money stays exact in the tables beside). */
  points: { time: string; value: number }[];
  area?: boolean;
  /** Put the line on its own scale (e.g. a percentage beside a value). */
  scale?: 'left' | 'right';
}

/** A financial time-series chart (lightweight-charts, canvas): one or more lines, resizing with its box. */
export function Chart({ lines, height = 260, label }: { lines: ChartLine[]; height?: number; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);

  useEffect(() => {
    const el = box.current!;
    const c = createChart(el, {
      height,
      width: el.clientWidth,
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#8b98a5', attributionLogo: false },
      grid: { vertLines: { color: '#1f2831' }, horzLines: { color: '#1f2831' } },
      rightPriceScale: { borderColor: '#26303b' },
      leftPriceScale: { borderColor: '#26303b', visible: lines.some((l) => l.scale === 'left') },
      timeScale: { borderColor: '#26303b', timeVisible: true },
    });
    chart.current = c;
    const ro = new ResizeObserver(() => c.applyOptions({ width: el.clientWidth }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      c.remove();
      chart.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [height]);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    const series = lines.map((l) => {
      const s = l.area
        ? c.addSeries(AreaSeries, { lineColor: l.color, topColor: `${l.color}55`, bottomColor: `${l.color}05`, lineWidth: 2, priceScaleId: l.scale ?? 'right', title: l.name })
        : c.addSeries(LineSeries, { color: l.color, lineWidth: 2, priceScaleId: l.scale ?? 'right', title: l.name });
      const seen = new Set<number>();
      const data = l.points
        .map((p) => ({ time: Math.floor(new Date(p.time).getTime() / 1000) as UTCTimestamp, value: p.value }))
        .filter((p) => (seen.has(p.time) ? false : (seen.add(p.time), true)));
      s.setData(data);
      return s;
    });
    c.applyOptions({ leftPriceScale: { visible: lines.some((l) => l.scale === 'left') } });
    c.timeScale().fitContent();
    return () => {
      // On unmount the chart itself is removed first (the effect above): nothing left to remove then.
      if (chart.current === c) for (const s of series) c.removeSeries(s);
    };
  }, [lines]);

  return <div ref={box} className="chart" role="img" aria-label={label} />;
}

/** A tiny line of recent prices (SVG), for lists. */
export function Sparkline({ values, width = 90, height = 24 }: { values: number[]; width?: number; height?: number }) {
  if (values.length < 2) return <svg width={width} height={height} aria-hidden="true" />;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const d = values.map((v, i) => `${i === 0 ? 'M' : 'L'}${((i / (values.length - 1)) * width).toFixed(1)},${(height - ((v - min) / span) * (height - 2) - 1).toFixed(1)}`).join(' ');
  const up = values[values.length - 1] >= values[0];
  return (
    <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden="true" className="sparkline">
      <path d={d} fill="none" stroke={up ? 'var(--gain)' : 'var(--loss)'} strokeWidth="1.5" />
    </svg>
  );
}
