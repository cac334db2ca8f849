'use client';

import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

/** A daily series as bars; the numbers are also given as a table for screen readers. */
export function SeriesChart({ label, series }: { label: string; series: Array<{ start: string; value: number }> }) {
  const data = series.map((point) => ({ day: point.start.slice(5, 10), value: point.value }));
  return (
    <figure>
      <div className="h-48" aria-hidden>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data} accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" opacity={0.3} />
            <XAxis dataKey="day" fontSize={11} />
            <YAxis fontSize={11} allowDecimals={false} />
            <Tooltip />
            <Bar dataKey="value" name={label} fill="#4f46e5" />
          </BarChart>
        </ResponsiveContainer>
      </div>
      <figcaption className="sr-only">
        {label}: {data.map((point) => `${point.day} ${point.value}`).join(', ')}
      </figcaption>
    </figure>
  );
}
