// Draws every <canvas data-chart> of a Framefleet report from the JSON in #report-data, with the Chart.js inlined before it.
(function () {
  "use strict";
  const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563", "#65a30d", "#9333ea"];
  const data = JSON.parse(document.getElementById("report-data").textContent);

  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  Chart.defaults.font.size = 12;
  Chart.defaults.color = "#374151";
  Chart.defaults.borderColor = "#e5e7eb";

  function color(index, alpha) {
    const hex = COLORS[index % COLORS.length];
    if (alpha === undefined) return hex;
    const value = parseInt(hex.slice(1), 16);
    return `rgba(${value >> 16}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
  }

  function axis(label, extra) {
    return Object.assign({ title: { display: true, text: label } }, extra);
  }

  function legend(count) {
    return { display: count > 1, position: "bottom", labels: { boxWidth: 12, boxHeight: 2 } };
  }

  const build = {
    box(spec) {
      return {
        type: "boxplot",
        data: {
          labels: spec.labels,
          datasets: [
            {
              label: spec.yLabel,
              data: spec.values,
              backgroundColor: color(0, 0.18),
              borderColor: color(0),
              borderWidth: 1.5,
              medianColor: color(0),
              itemRadius: 3,
              itemStyle: "circle",
              itemBackgroundColor: color(0, 0.6),
              itemBorderColor: color(0),
              outlierRadius: 3,
              meanRadius: 0,
              maxBarThickness: 56,
            },
          ],
        },
        options: {
          plugins: { legend: { display: false } },
          scales: { x: axis(spec.labels.length > 1 ? "point" : ""), y: axis(spec.yLabel, { beginAtZero: false, grace: "10%" }) },
        },
      };
    },
    sweep(spec) {
      return {
        type: "lineWithErrorBars",
        data: {
          labels: spec.numeric ? undefined : spec.labels,
          datasets: spec.lines.map((line, index) => ({
            label: line.label,
            data: line.points,
            borderColor: color(index),
            backgroundColor: color(index),
            pointRadius: 3.5,
            borderWidth: 1.5,
            errorBarColor: color(index),
            errorBarWhiskerColor: color(index),
            errorBarLineWidth: 1.5,
            errorBarWhiskerSize: 14,
          })),
        },
        options: {
          plugins: { legend: legend(spec.lines.length) },
          scales: {
            x: axis(spec.xLabel, spec.numeric ? { type: "linear", grace: "5%" } : { type: "category" }),
            y: axis(spec.yLabel, { beginAtZero: true, grace: "5%" }),
          },
        },
      };
    },
    compare(spec) {
      return {
        type: "barWithErrorBars",
        data: {
          labels: spec.labels,
          datasets: [
            {
              label: spec.xLabel,
              data: spec.bars,
              backgroundColor: color(0, 0.35),
              borderColor: color(0),
              borderWidth: 1.5,
              errorBarColor: color(0),
              errorBarWhiskerColor: color(0),
              errorBarLineWidth: 1.5,
              errorBarWhiskerSize: 10,
              maxBarThickness: 22,
            },
          ],
        },
        options: {
          indexAxis: "y",
          plugins: { legend: { display: false } },
          scales: { x: axis(spec.xLabel, { beginAtZero: true, grace: "5%" }), y: axis("") },
        },
      };
    },
    series(spec) {
      return {
        type: "line",
        data: {
          datasets: spec.lines.map((line, index) => ({
            label: line.label,
            data: line.t.map((t, at) => ({ x: t, y: line.y[at] ?? null })),
            borderColor: color(index),
            backgroundColor: color(index),
            borderWidth: 1.5,
            borderDash: line.failed ? [5, 4] : undefined,
            pointRadius: 0,
            tension: 0,
            spanGaps: false,
          })),
        },
        options: {
          interaction: { mode: "nearest", axis: "x", intersect: false },
          plugins: { legend: legend(spec.lines.length) },
          scales: { x: axis("s since start", { type: "linear" }), y: axis(spec.yLabel, { beginAtZero: true }) },
        },
      };
    },
  };

  // Throughput (left axis, solid) and p99 (right axis, dashed) per repeat against the offered load; the knee a dashed vertical line.
  build.saturation = function (spec) {
    const datasets = spec.lines.map((line) => ({
      label: line.label,
      data: line.points,
      yAxisID: line.axis,
      showLine: true,
      borderColor: color(line.axis === "y" ? 0 : 1, line.repeat > 1 ? 0.55 : undefined),
      backgroundColor: color(line.axis === "y" ? 0 : 1),
      borderDash: line.axis === "y1" ? [5, 4] : undefined,
      borderWidth: 1.5,
      pointRadius: 3,
    }));
    if (spec.knee) {
      const top = Math.max(1, ...spec.lines.filter((line) => line.axis === "y").flatMap((line) => line.points.map((point) => point.y)));
      datasets.push({ label: spec.knee.label, data: [{ x: spec.knee.x, y: 0 }, { x: spec.knee.x, y: top * 1.05 }], yAxisID: "y", showLine: true, borderColor: color(2), backgroundColor: color(2), borderDash: [2, 3], borderWidth: 2, pointRadius: 0 });
    }
    return {
      type: "scatter",
      data: { datasets },
      options: {
        plugins: { legend: legend(datasets.length) },
        scales: {
          x: axis(spec.xLabel, { type: "linear", beginAtZero: true, grace: "5%" }),
          y: axis("images/s", { beginAtZero: true, position: "left" }),
          y1: axis("latency p99 (ms)", { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } }),
        },
      },
    };
  };

  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const spec = data.charts[canvas.dataset.chart];
    try {
      new Chart(canvas, build[spec.kind](spec));
    } catch (error) {
      console.error(`chart ${canvas.dataset.chart}: ${error}`);
      canvas.closest(".plot").textContent = `This chart could not be drawn: ${error}`;
    }
  }
})();
