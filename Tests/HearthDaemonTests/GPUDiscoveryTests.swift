import Testing
@testable import HearthDaemon
import HearthStore

@Suite struct GPUDiscoveryTests {
    @Test func parsesNvidiaSMIOutput() {
        let csv = """
            0, NVIDIA H200, 143771, GPU-5f1c2d3e-0000-1111-2222-333344445555
            1, NVIDIA H200, 143771, GPU-6a7b8c9d-0000-1111-2222-333344445555
            garbage line
            """
        let gpus = GPUDiscovery.parse(csv)
        #expect(gpus.map(\.index) == [0, 1])
        #expect(gpus[0].model == "NVIDIA H200" && gpus[0].memoryBytes == 143_771 << 20 && !gpus[0].simulated)
        #expect(gpus[1].uuid == "GPU-6a7b8c9d-0000-1111-2222-333344445555")
    }
}
