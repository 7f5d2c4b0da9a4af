/* The planning desk's charts (week view, district statistics), drawn with ECharts from the JSON each page
   embeds in a <script type="application/json"> data island (read with textContent + JSON.parse). Every chart
   has a table on the page with the same figures; without JavaScript the tables are the page. Tooltips are
   rich text drawn on the canvas, so no name ever becomes HTML. */
/* global echarts */
(function () {
  "use strict";

  function island(id) {
    var element = document.getElementById(id);
    if (!element) {
      return null;
    }
    try {
      return JSON.parse(element.textContent);
    } catch {
      return null;
    }
  }

  function chart(element, height) {
    element.style.height = height + "px";
    var instance = echarts.init(element, null, { renderer: "canvas" });
    window.addEventListener("resize", function () { instance.resize(); });
    return instance;
  }

  var QUIET = 2;

  function weekChart(element, data) {
    var days = data.days.map(function (day) {
      var names = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
      return names[data.days.indexOf(day)] + " " + day.date.slice(5);
    });
    var hours = [];
    for (var d = 0; d < 7; d += 1) {
      for (var h = 0; h < 24; h += 1) {
        hours.push(days[d] + " " + (h < 10 ? "0" : "") + h + ":00");
      }
    }
    var labels = data.rows.map(function (row) { return row.label; });
    var states = data.states;
    var instance = chart(element, Math.max(160, 60 + labels.length * 22));
    instance.setOption({
      animation: false,
      grid: { left: 200, right: 16, top: 40, bottom: 40 },
      tooltip: {
        renderMode: "richText",
        formatter: function (params) {
          var state = states[String(params.value[2])];
          return labels[params.value[1]] + "\n" + hours[params.value[0]] + "\n" + state.zh + " · " + state.en;
        },
      },
      xAxis: {
        type: "category", data: hours, splitArea: { show: true, interval: 23 },
        axisLabel: { interval: 23, formatter: function (value) { return value.slice(0, 8); } },
      },
      yAxis: { type: "category", data: labels, inverse: true, axisLabel: { width: 190, overflow: "truncate" } },
      visualMap: {
        type: "piecewise", orient: "horizontal", top: 0, left: "center", dimension: 2,
        pieces: [
          { value: 1, label: states["1"].zh + " " + states["1"].en, color: "#2a9d8f" },
          { value: QUIET, label: states[String(QUIET)].zh + " " + states[String(QUIET)].en, color: "#d00000" },
        ],
      },
      series: [{ type: "heatmap", data: data.cells, itemStyle: { borderColor: "#ffffff", borderWidth: 1 } }],
    });
  }

  function statsCharts(verdictsElement, seatsElement, data) {
    var names = data.districts.map(function (row) { return row.name; });
    var colours = { pass: "#2a9d8f", warn: "#e9c46a", cannot_assess: "#8d99ae", fail: "#d00000" };
    if (verdictsElement) {
      chart(verdictsElement, 320).setOption({
        animation: false,
        title: { text: "外摆点检查结论 · Outdoor-dining verdicts", left: "center", textStyle: { fontSize: 14 } },
        tooltip: { trigger: "axis", renderMode: "richText" },
        legend: { top: 34 },
        grid: { top: 72, bottom: 40, left: 48, right: 16 },
        xAxis: { type: "category", data: names },
        yAxis: { type: "value", minInterval: 1 },
        series: Object.keys(data.statuses).map(function (key) {
          return {
            type: "bar", stack: "verdicts", name: data.statuses[key].zh + " " + data.statuses[key].en,
            itemStyle: { color: colours[key] }, data: data.districts.map(function (row) { return row.verdicts[key]; }),
          };
        }),
      });
    }
    if (seatsElement) {
      chart(seatsElement, 280).setOption({
        animation: false,
        title: { text: "每万常住人口外摆座位 · Outdoor seats per 10,000 residents", left: "center",
                 textStyle: { fontSize: 14 } },
        tooltip: { trigger: "axis", renderMode: "richText" },
        grid: { top: 40, bottom: 40, left: 48, right: 16 },
        xAxis: { type: "category", data: names },
        yAxis: { type: "value" },
        series: [{ type: "bar", name: "座位/万人 seats per 10k", itemStyle: { color: "#2d6a4f" },
                   data: data.districts.map(function (row) { return row.seats_per_10k; }) }],
      });
    }
  }

  function start() {
    if (typeof echarts === "undefined") {
      return; // the tables carry the figures
    }
    var week = island("week-data");
    var weekElement = document.getElementById("week-chart");
    if (week && weekElement) {
      weekChart(weekElement, week);
    }
    var stats = island("stats-data");
    if (stats) {
      statsCharts(document.getElementById("stats-verdicts-chart"), document.getElementById("stats-seats-chart"),
                  stats);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
