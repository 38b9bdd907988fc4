// Drives the wasm benchmark in Node: `node examples/bench_wasm.js <wasm-bindgen nodejs output dir>`.
// Prints a JSON list of measurement rows on stdout, progress on stderr.
const path = require("path");
const bench = require(path.resolve(process.argv[2], "bench_wasm.js"));

const rows = [JSON.parse(bench.measure_simd128_peak(1.0))];
process.stderr.write(`wasm-node simd128-peak: ${rows[0].gflops.toFixed(2)} GFLOP/s\n`);
// BENCH_WORKLOADS=W3,W4 measures only those (the peak is always measured)
const only = (process.env.BENCH_WORKLOADS || "").split(",").filter((name) => name);
for (let i = 0; i < bench.workload_count(); i++) {
  if (only.length > 0 && !only.includes(bench.workload_name(i))) continue;
  const row = JSON.parse(bench.measure_workload(i));
  process.stderr.write(`wasm-node ${row.workload}: ${row.steps} steps in ${row.seconds.toFixed(2)} s\n`);
  rows.push(row);
}
console.log(JSON.stringify(rows));
