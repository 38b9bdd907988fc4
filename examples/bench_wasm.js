// Drives the wasm benchmark in Node: `node examples/bench_wasm.js <wasm-bindgen nodejs output dir>`.
// Prints a JSON list of measurement rows on stdout, progress on stderr.
const path = require("path");
const bench = require(path.resolve(process.argv[2], "bench_wasm.js"));

// The relaxed-SIMD module (built with `--features relaxed-simd`) measures its own peak instead.
const peak = bench.relaxed_simd() ? bench.measure_relaxed_simd_peak(1.0) : bench.measure_simd128_peak(1.0);
const rows = [JSON.parse(peak)];
process.stderr.write(`${rows[0].runtime} ${rows[0].workload}: ${rows[0].gflops.toFixed(2)} GFLOP/s\n`);
// BENCH_WORKLOADS=W3,W4 measures only those (the peak is always measured)
const only = (process.env.BENCH_WORKLOADS || "").split(",").filter((name) => name);
for (let i = 0; i < bench.workload_count(); i++) {
  if (only.length > 0 && !only.includes(bench.workload_name(i))) continue;
  const row = JSON.parse(bench.measure_workload(i));
  process.stderr.write(`${row.runtime} ${row.workload}: ${row.steps} steps in ${row.seconds.toFixed(2)} s\n`);
  rows.push(row);
}
console.log(JSON.stringify(rows));
