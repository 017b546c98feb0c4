// Vertical marks on a time chart: where a stage began and where the test was changed while it ran
// (paused, resumed, its rate set). One uPlot plugin, given a function so that the marks follow
// the series as it grows without the chart being made again. The dashboard bundles it; the HTML
// report inlines these two functions' source text into its page (html-report.ts), so each uses
// nothing but its arguments, the other function and the browser's globals.
import type uPlot from 'uplot';

export interface ChartMark {
  /** seconds since the trigger, on the chart's x axis */
  t: number;
  /** the short label drawn beside the line ("stage 2", "rate set to 3,000/s") */
  label: string;
  /** a live change (solid) rather than a planned stage boundary (dashed) */
  control?: boolean;
}

export function marksPlugin(marks: () => ChartMark[], colors: { stage: string; control: string; text: string }): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        const ctx = u.ctx;
        const { top, height, left, width } = u.bbox;
        ctx.save();
        ctx.font = `${Math.round(10 * devicePixelRatio)}px sans-serif`;
        ctx.textBaseline = 'top';
        const pad = 3 * devicePixelRatio;
        const shown = marks()
          .map((mark) => ({ mark, x: Math.round(u.valToPos(mark.t, 'x', true)) }))
          .filter(({ x }) => x >= left && x <= left + width)
          .sort((a, b) => a.x - b.x);
        const rows = labelRows(shown.map(({ mark, x }) => ({ x: x + pad, width: ctx.measureText(mark.label).width + pad })));
        const lineHeight = 12 * devicePixelRatio;
        shown.forEach(({ mark, x }, i) => {
          ctx.strokeStyle = mark.control ? colors.control : colors.stage;
          ctx.lineWidth = devicePixelRatio;
          ctx.setLineDash(mark.control ? [] : [4 * devicePixelRatio, 3 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.fillStyle = colors.text;
          ctx.fillText(mark.label, x + pad, top + 2 * devicePixelRatio + rows[i] * lineHeight);
        });
        ctx.restore();
      },
    },
  };
}

/**
 * The row each label goes on, for labels in the order of their x: the first row whose last label
 * ends before this one begins. Changes made a second apart ("resume", "set 80") drew one label
 * over the other on a single row.
 */
export function labelRows(labels: readonly { x: number; width: number }[]): number[] {
  const rowEnds: number[] = [];
  return labels.map(({ x, width }) => {
    let row = rowEnds.findIndex((end) => end <= x);
    if (row === -1) row = rowEnds.push(0) - 1;
    rowEnds[row] = x + width;
    return row;
  });
}
