import ArgumentParser
import IOBenchKit

/// `run --profile`: where each case's CPU time goes, from sampled kernel stacks.
struct ProfileOptions: ParsableArguments {
    @Flag(name: .long, help: "Sample each case's job threads (and the io_uring workers serving them) during its measured phase with perf_event_open (cpu-cycles where the CPU has a PMU, else the software cpu-clock), and report the kernel functions the CPU time went to, as shares and as ns per read. Needs root or kernel.perf_event_paranoid <= 1; without it the run stops with exit 2.")
    var profile = false

    @Option(name: .customLong("profile-freq"), help: ArgumentHelp("Samples per second of CPU time per thread, 1 to 20000. Each sample interrupts the thread (about 20 µs in the development VMs), so a higher rate costs more; fewer samples widen the intervals. Default: 4999.", valueName: "hz"))
    var profileFrequency: UInt32?

    /// Above this the sampling interrupt can take most of a CPU: at 100000 Hz a psync job
    /// stalled outright in the development VMs, at 50000 Hz io_uring ran at 5% of its rate.
    static let maximumFrequency: UInt32 = 20_000

    @Flag(name: .customLong("profile-user"), help: "Keep user-space frames apart (by address) instead of one [iobench] frame.")
    var profileUser = false

    @Option(name: .customLong("profile-folded"), help: ArgumentHelp("With --profile: write each case's sampled stacks, folded (outer;...;inner count), to DIR/<case id>.folded for flamegraph.pl, inferno or speedscope. DIR must exist.", valueName: "dir"))
    var foldedDir: String?

    func apply(to request: inout RunRequest) throws {
        if !profile && (foldedDir != nil || profileUser || profileFrequency != nil) {
            throw IOBenchError.badInput("--profile-folded, --profile-user and --profile-freq shape a profile; add --profile")
        }
        let frequency = profileFrequency ?? 4999
        guard frequency >= 1 && frequency <= Self.maximumFrequency else {
            throw IOBenchError.badInput("--profile-freq \(frequency) is out of range; use 1 to \(Self.maximumFrequency) samples per second (default 4999): above that the sampling interrupt takes most of the CPU")
        }
        request.profileFrequency = profile ? frequency : nil
        request.profileUserFrames = profileUser
        request.outputs.profileFoldedDirectory = foldedDir
    }
}
