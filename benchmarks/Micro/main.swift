// Micro-benchmarks of the hot loop's pieces: what one histogram record, one offset and
// one clock read cost. Each is timed over many iterations, several times; the median
// per-operation time is printed. Run with `make micro` (release build).
import Foundation
import IOBenchKit

// Results are stored where the optimiser cannot prove them unused, and inputs are read
// from there so loops cannot be folded away.
nonisolated(unsafe) var sink: UInt64 = 0
nonisolated(unsafe) var opaqueOffset: UInt64 = 8192

@inline(never)
func blackHole(_ x: UInt64) { sink &+= x }

struct Measurement {
    var name: String
    var nsPerOp: Double
    var spread: (Double, Double)
}

func measure(_ name: String, iterations: Int, rounds: Int = 7, _ body: (Int) -> Void) -> Measurement {
    var samples: [Double] = []
    body(iterations / 10)  // warm up
    for _ in 0 ..< rounds {
        let t0 = monotonicNanoseconds()
        body(iterations)
        let t1 = monotonicNanoseconds()
        samples.append(Double(t1 - t0) / Double(iterations))
    }
    samples.sort()
    return Measurement(name: name, nsPerOp: samples[samples.count / 2], spread: (samples.first!, samples.last!))
}

var results: [Measurement] = []
let n = 20_000_000

results.append(measure("clock read (CLOCK_MONOTONIC, vDSO)", iterations: n) { k in
    var acc: UInt64 = 0
    for _ in 0 ..< k { acc &+= monotonicNanoseconds() }
    blackHole(acc)
})

// The TSC (where usable): the raw reads, then the job loop's clock, which converts to ns.
let tscUnusable = TSCSupport.unusableReason()
let tscCalibration = tscUnusable == nil ? TSCCalibration.calibrate() : nil
if let cal = tscCalibration {
    results.append(measure("tsc read (rdtscp, raw ticks)", iterations: n) { k in
        var acc: UInt64 = 0
        for _ in 0 ..< k { acc &+= TSC.rdtscp() }
        blackHole(acc)
    })
    results.append(measure("tsc read (lfence;rdtsc, raw ticks)", iterations: n) { k in
        var acc: UInt64 = 0
        for _ in 0 ..< k { acc &+= TSC.lfenceRdtsc() }
        blackHole(acc)
    })
    results.append(measure("tsc read (rdtsc unordered; not used)", iterations: n) { k in
        var acc: UInt64 = 0
        for _ in 0 ..< k { acc &+= TSC.unorderedRdtsc() }
        blackHole(acc)
    })
    let clock = cal.clock
    results.append(measure("tsc clock read (LatencyClock.now, ns)", iterations: n) { k in
        var acc: UInt64 = 0
        for _ in 0 ..< k { acc &+= clock.now() }
        blackHole(acc)
    })
}
let monotonicClock = LatencyClock.monotonic
results.append(measure("monotonic clock read (LatencyClock.now)", iterations: n) { k in
    var acc: UInt64 = 0
    for _ in 0 ..< k { acc &+= monotonicClock.now() }
    blackHole(acc)
})

results.append(measure("random offset (xoshiro256** + Lemire bound)", iterations: n) { k in
    var g = OffsetGenerator(regionStart: 0, blockSize: 4096, blockCount: 262_144, pattern: .random, seed: sink | 1)
    var acc: UInt64 = 0
    for _ in 0 ..< k { acc ^= g.next() &* 31 }
    blackHole(acc)
})

let table = OffsetTable(ioOffsets: (0 ..< 65536).map { UInt64($0) * 8192 })
results.append(measure("planned offset (class table lookup)", iterations: n) { k in
    var g = OffsetGenerator(table: table, pattern: .random, seed: 1)
    var acc: UInt64 = 0
    for _ in 0 ..< k { acc &+= g.next() }
    blackHole(acc)
})

results.append(measure("histogram record (JobHistogram, the loop's)", iterations: n) { k in
    var h = JobHistogram()!
    var v: UInt64 = 20_000
    for _ in 0 ..< k {
        h.record(v)
        v = v &* 6364136223846793005 &+ 1442695040888963407
        v = 1000 &+ (v >> 44)   // 1 µs .. ~1 ms, spread over many buckets
    }
    blackHole(h.maxValue &+ h.sum)
    h.free()
})

results.append(measure("histogram record (LatencyHistogram value)", iterations: n) { k in
    var h = LatencyHistogram()
    var v: UInt64 = 20_000
    for _ in 0 ..< k {
        h.record(v)
        v = v &* 6364136223846793005 &+ 1442695040888963407
        v = 1000 &+ (v >> 44)   // 1 µs .. ~1 ms, spread over many buckets
    }
    blackHole(h.count &+ h.sum)
})

results.append(measure("stamp check of a 4 KiB block (--verify)", iterations: 2_000_000) { k in
    let buf = try! AlignedBuffers(count: 1, size: 4096)
    Stamp.fill(buf.base, count: 4096, fileOffset: 8192)
    var ok: UInt64 = 0
    for _ in 0 ..< k {
        if Stamp.matches(buf.base, count: 4096, fileOffset: opaqueOffset) { ok &+= 1 }
        opaqueOffset = sink == 12345 ? 0 : 8192
    }
    blackHole(ok)
})

print("iobench micro-benchmarks (median of 7 rounds; min–max in brackets)")
for r in results {
    print("  " + r.name.padding(toLength: 48, withPad: " ", startingAt: 0) + String(format: "%7.2f ns/op  [%.2f–%.2f]", r.nsPerOp, r.spread.0, r.spread.1))
}
if let tscUnusable { print("  (no TSC lines: \(tscUnusable))") }

// The clocks again in many short rounds: on a machine shared with other work the median
// of long rounds includes time the thread was not running, the best short round does not.
func best(_ name: String, _ read: () -> UInt64) {
    let reads = 100_000
    var samples: [Double] = []
    for _ in 0 ..< 201 {
        var acc: UInt64 = 0
        let t0 = monotonicNanoseconds()
        for _ in 0 ..< reads { acc &+= read() }
        let t1 = monotonicNanoseconds()
        blackHole(acc)
        samples.append(Double(t1 - t0) / Double(reads))
    }
    samples.sort()
    print("  " + name.padding(toLength: 48, withPad: " ", startingAt: 0) + String(format: "%7.2f ns/op  [median %.2f]", samples[0], samples[100]))
}
print("clock reads, best of 201 rounds of 100,000 reads (the cost when the core is not shared)")
best("clock read (CLOCK_MONOTONIC, vDSO)") { monotonicNanoseconds() }
if let cal = tscCalibration {
    let clock = cal.clock
    best("tsc read (rdtscp, raw ticks)") { TSC.rdtscp() }
    best("tsc read (lfence;rdtsc, raw ticks)") { TSC.lfenceRdtsc() }
    best("tsc read (rdtsc unordered; not used)") { TSC.unorderedRdtsc() }
    best("tsc clock read (LatencyClock.now, ns)") { clock.now() }
}

// How short a calibration window is enough: each window's rate (5 calibrations) against
// a 500 ms reference, as the largest |error| in ppm.
if tscCalibration != nil {
    let reference = TSCCalibration.calibrate(windowNs: 500_000_000).ticksPerSecond
    print("TSC calibration error against a 500 ms calibration (largest |error| of 5, ppm)")
    for ms: UInt64 in [1, 2, 5, 10, 20, 50] {
        var worst = 0.0
        for _ in 0 ..< 5 {
            let rate = TSCCalibration.calibrate(windowNs: ms * 1_000_000).ticksPerSecond
            worst = max(worst, abs(rate - reference) / reference * 1e6)
        }
        print("  window " + "\(ms) ms".padding(toLength: 8, withPad: " ", startingAt: 0) + String(format: "%8.3f ppm", worst))
    }
}
