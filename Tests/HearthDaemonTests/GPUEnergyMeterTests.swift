import Testing
@testable import HearthDaemon

/// No GPU exists on the machines these tests run on, so the energy path is tested on
/// nvidia-smi's documented output format (`--query-gpu=index,power.draw --format=csv,noheader,nounits`),
/// not on readings from hardware.
@Suite struct GPUEnergyMeterTests {
    @Test func parsesPowerReadingsAndSkipsUnsupportedOnes() {
        let csv = """
            0, 412.35
            1, 98.07
            2, [N/A]
            3, [Not Supported]
            """
        #expect(GPUEnergyMeter.parse(csv) == [0: 412.35, 1: 98.07])
    }

    @Test func integratesTheAttemptsGPUsOnly() {
        var meter = GPUEnergyMeter(indices: [0, 1])
        #expect(meter.measuredJoules == nil)
        meter.add(at: 0, watts: [0: 100, 1: 100, 2: 999])
        #expect(meter.measuredJoules == nil, "one sample measures no interval")
        meter.add(at: 10, watts: [0: 200, 1: 200, 2: 999])  // 10 s × (200 + 400) / 2 = 3,000 J
        meter.add(at: 15, watts: [0: 200])  // GPU 1 missing: dropped
        meter.add(at: 20, watts: [0: 200, 1: 200])  // 10 s × 400 = 4,000 J
        #expect(meter.measuredJoules == 7_000)
    }
}
