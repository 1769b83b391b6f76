import ArgumentParser
import IOBenchKit

/// `run --profile`: where each case's CPU time goes, from sampled kernel stacks.
struct ProfileOptions: ParsableArguments {
    @Flag(name: .long, help: "Sample each case's job threads (and the io_uring workers serving them) during its measured phase with perf_event_open (cpu-cycles where the CPU has a PMU, else the software cpu-clock), and report the kernel functions the CPU time went to, as shares and as ns per read. Needs root or kernel.perf_event_paranoid <= 1; without it the run stops with exit 2.")
    var profile = false

    @Option(name: .customLong("profile-freq"), help: ArgumentHelp("Samples per second of CPU time per thread. Default: 4999.", valueName: "hz"))
    var profileFrequency: UInt32 = 4999

    @Flag(name: .customLong("profile-user"), help: "Keep user-space frames apart (by address) instead of one [iobench] frame.")
    var profileUser = false

    @Option(name: .customLong("profile-folded"), help: ArgumentHelp("With --profile: write each case's sampled stacks, folded (outer;...;inner count), to DIR/<case id>.folded for flamegraph.pl, inferno or speedscope. DIR must exist.", valueName: "dir"))
    var foldedDir: String?

    func apply(to request: inout RunRequest) throws {
        if !profile && (foldedDir != nil || profileUser) {
            throw IOBenchError.badInput("--profile-folded and --profile-user shape a profile; add --profile")
        }
        guard profileFrequency >= 1 && profileFrequency <= 100_000 else {
            throw IOBenchError.badInput("--profile-freq \(profileFrequency) is out of range; use 1 to 100000 samples per second (default 4999)")
        }
        request.profileFrequency = profile ? profileFrequency : nil
        request.profileUserFrames = profileUser
        request.outputs.profileFoldedDirectory = foldedDir
    }
}
