"use strict";
// Polls the service every two seconds: Prometheus metrics (counters turned into rates here) and the admin views.
// The last five minutes are charted with uPlot. The body's data-* attributes carry the figures the browser test
// reads (samples drawn, peaks).
const POLL_MS = 2000;
const KEEP_SECONDS = 300;
const data = { t: [], read: [], write: [], puts: [], gets: [], latency: [] };
let previous = null;

function chart(element, title, unit, labels, colours) {
  const series = [{}].concat(labels.map((label, i) => ({ label, stroke: colours[i], width: 2 })));
  return new uPlot({
    width: 440, height: 200, series,
    scales: { x: { time: true } },
    axes: [{}, { size: 72, values: (u, values) => values.map(v => format(v, unit)) }],
  }, [[]].concat(labels.map(() => [])), document.getElementById(element));
}

const charts = {
  throughput: chart("throughput", "Transfer throughput", "B/s", ["read", "write"], ["#3b6fd4", "#d4843b"]),
  ops: chart("ops", "Master operations", "/s", ["puts", "gets"], ["#2e9d5b", "#8a3bd4"]),
  latency: chart("latency", "Latency", "s", ["mean"], ["#b3261e"]),
};

function format(value, unit) {
  if (value == null) return "";
  const steps = unit === "s" ? [[1e-6, "µs"], [1e-3, "ms"], [1, "s"]]
      : unit === "B/s" ? [[1, "B/s"], [1e3, "kB/s"], [1e6, "MB/s"], [1e9, "GB/s"]] : [[1, "/s"], [1e3, "k/s"]];
  let chosen = steps[0];
  for (const step of steps) if (Math.abs(value) >= step[0]) chosen = step;
  return (value / chosen[0]).toFixed(value / chosen[0] < 10 ? 1 : 0) + " " + chosen[1];
}

function bytes(value) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return value.toFixed(unit ? 1 : 0) + " " + units[unit];
}

/** Sum of the samples of one metric whose labels include every pair of `match`. */
function total(text, name, match) {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
    if (Object.entries(match).every(([k, v]) => line.includes(k + '="' + v + '"'))) {
      sum += parseFloat(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

async function json(path) {
  const response = await fetch(path);
  const body = await response.json();
  if (!response.ok) throw new Error(path + ": " + (body.message || response.status));
  return body;
}

function sample(text) {
  return {
    t: Date.now() / 1000,
    read: total(text, "crescent_transfer_bytes_total", { op: "read" }),
    write: total(text, "crescent_transfer_bytes_total", { op: "write" }),
    puts: total(text, "crescent_master_requests_total", { op: "put_start" })
        + total(text, "crescent_master_requests_total", { op: "batch_put_start" }),
    gets: total(text, "crescent_master_requests_total", { op: "get_replica_list" })
        + total(text, "crescent_master_requests_total", { op: "batch_get_replica_list" }),
    latencySum: total(text, "crescent_transfer_latency_seconds_sum", {}),
    latencyCount: total(text, "crescent_transfer_latency_seconds_count", {}),
  };
}

function record(now) {
  if (previous) {
    const seconds = Math.max(now.t - previous.t, 1e-3);
    const moved = now.latencyCount - previous.latencyCount;
    data.t.push(now.t);
    data.read.push((now.read - previous.read) / seconds);
    data.write.push((now.write - previous.write) / seconds);
    data.puts.push((now.puts - previous.puts) / seconds);
    data.gets.push((now.gets - previous.gets) / seconds);
    data.latency.push(moved > 0 ? (now.latencySum - previous.latencySum) / moved : null);
    while (data.t.length && data.t[0] < now.t - KEEP_SECONDS) Object.values(data).forEach(a => a.shift());
    charts.throughput.setData([data.t, data.read, data.write]);
    charts.ops.setData([data.t, data.puts, data.gets]);
    charts.latency.setData([data.t, data.latency]);
    document.body.dataset.samples = data.t.length;
    document.body.dataset.peakWriteBps = Math.max(0, ...data.write);
    document.body.dataset.peakPuts = Math.max(0, ...data.puts);
  }
  previous = now;
}

function rows(table, cells) {
  const body = document.querySelector("#" + table + " tbody");
  body.replaceChildren(...cells.map(row => {
    const tr = document.createElement("tr");
    for (const cell of row) {
      const td = document.createElement("td");
      if (cell instanceof Node) td.append(cell); else td.textContent = cell;
      tr.append(td);
    }
    return tr;
  }));
}

function bar(fraction) {
  const outer = document.createElement("div");
  outer.className = "bar";
  const inner = document.createElement("div");
  inner.style.width = (100 * fraction).toFixed(1) + "%";
  outer.append(inner);
  return outer;
}

async function poll() {
  try {
    const [metrics, cluster, segments, workers] = await Promise.all([
      fetch("/q/metrics").then(r => r.ok ? r.text() : Promise.reject(new Error("/q/metrics: " + r.status))),
      json("/v1/cluster"), json("/v1/segments"), json("/v1/workers")]);
    record(sample(metrics));
    document.getElementById("role").textContent = cluster.role;
    document.getElementById("objects").textContent =
        cluster.stats.objectCount + " (" + cluster.stats.processingCount + " being written)";
    document.getElementById("memory").textContent =
        bytes(cluster.stats.usedBytes) + " used of " + bytes(cluster.stats.capacityBytes);
    document.getElementById("masters").textContent = cluster.masters.length
        ? cluster.masters.map(m => m.address + " (" + m.role + ")").join(", ") : "one (" + cluster.role + ")";
    rows("segments", segments.map(s => [s.name, s.owner, bytes(s.usedBytes) + " / " + bytes(s.capacityBytes),
      bar(s.capacityBytes ? s.usedBytes / s.capacityBytes : 0)]));
    rows("workers", workers.map(w => [w.clientId, (w.silentMillis / 1000).toFixed(1) + " s ago",
      w.segments.join(", ")]));
    rows("tenants", cluster.tenants.map(t => [t.name, t.prefix,
      bytes(t.usedBytes) + " / " + bytes(t.quotaBytes) + " (" + bytes(t.reservedBytes) + ")",
      bar(t.usedBytes / t.quotaBytes), String(t.refusedPuts)]));
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = e.message;
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
