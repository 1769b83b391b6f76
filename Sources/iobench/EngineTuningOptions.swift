import ArgumentParser
import IOBenchKit

/// `run`: how the engines talk to the kernel. Each flag's name and help come from
/// `EngineOptionKey` and its help names the engines that take it (from the registry);
/// naming one without such an engine in --engine is refused.
struct EngineTuningOptions: ParsableArguments {
    @Flag(name: .customLong(EngineOptionKey.hipri.flagName), help: ArgumentHelp(EngineOptionKey.hipri.helpLine))
    var hipri = false

    @Flag(name: .customLong(EngineOptionKey.fixedBuffers.flagName), help: ArgumentHelp(EngineOptionKey.fixedBuffers.helpLine))
    var fixedBuffers = false

    @Flag(name: .customLong(EngineOptionKey.registeredFiles.flagName), help: ArgumentHelp(EngineOptionKey.registeredFiles.helpLine))
    var registeredFiles = false

    @Flag(name: .customLong(EngineOptionKey.sqpoll.flagName), help: ArgumentHelp(EngineOptionKey.sqpoll.helpLine))
    var sqpoll = false

    @Flag(name: .customLong(EngineOptionKey.plainRing.flagName), help: ArgumentHelp(EngineOptionKey.plainRing.helpLine))
    var plainRing = false

    @Option(name: .customLong(EngineOptionKey.submitBatch.flagName), help: ArgumentHelp(EngineOptionKey.submitBatch.helpLine, valueName: "n"))
    var submitBatch: Int = 1

    @Option(name: .customLong(EngineOptionKey.completeBatch.flagName), help: ArgumentHelp(EngineOptionKey.completeBatch.helpLine, valueName: "n"))
    var completeBatch: Int = 1

    var engineOptions: EngineOptions {
        var o = EngineOptions()
        o.hipri = hipri
        o.fixedBuffers = fixedBuffers
        o.registeredFiles = registeredFiles
        o.sqpoll = sqpoll
        o.plainRing = plainRing
        o.submitBatch = submitBatch
        o.completeBatch = completeBatch
        return o
    }
}
