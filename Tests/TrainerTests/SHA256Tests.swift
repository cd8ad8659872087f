import Testing
@testable import Trainer

@Suite struct SHA256Tests {
    @Test func knownDigests() {
        let abc: [UInt8] = Array("abc".utf8)
        #expect(abc.withUnsafeBytes { SHA256.hex($0) } == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var streamed = SHA256()
        streamed.update(Array("a".utf8))
        streamed.update(Array("bc".utf8))
        #expect(streamed.finalizeHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect([UInt8]().withUnsafeBytes { SHA256.hex($0) } == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
