// Vertical marks on a time chart: where a stage began and where the test was changed while it ran
// (paused, resumed, its rate set). One uPlot plugin, given a function so that the marks follow
// the series as it grows without the chart being made again.
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
        for (const mark of marks()) {
          const x = Math.round(u.valToPos(mark.t, 'x', true));
          if (x < left || x > left + width) continue;
          ctx.strokeStyle = mark.control ? colors.control : colors.stage;
          ctx.lineWidth = devicePixelRatio;
          ctx.setLineDash(mark.control ? [] : [4 * devicePixelRatio, 3 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.fillStyle = colors.text;
          ctx.fillText(mark.label, x + 3 * devicePixelRatio, top + 2 * devicePixelRatio);
        }
        ctx.restore();
      },
    },
  };
}
