import Foundation
import HearthCore
import HearthProcess
import HearthReports
import Testing

/// The HTML report rendered by a real headless Chromium (Debian's `chromium`, installed by
/// `bootstrap`): a screenshot that is not blank, and the DOM after rendering holding the bars.
@Suite(.timeLimit(.minutes(10))) struct HTMLBrowserTests {
    @Test func chromiumRendersTheChartsBarsIncluded() async throws {
        let chromium = try ChildProcess.resolve("chromium")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-html-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let page = dir.appendingPathComponent("report.html")
        try ReportRenderer.render(SampleReport.report, as: .html).write(to: page, atomically: true, encoding: .utf8)
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(dir.path)/profile"]

        let png = dir.appendingPathComponent("report.png")
        let shot = try ChildProcess.spawn(
            chromium, common + ["--screenshot=\(png.path)", "--window-size=1000,900", page.absoluteString],
            descriptors: [nil, nil, nil])
        #expect(await shot.wait() == .exited(0))
        let image = try Data(contentsOf: png)
        #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG file")
        #expect(image.count > 10_000, "a page with charts compresses to more than a blank one (\(image.count) bytes)")
        let (w, h) = (image[16..<20].reduce(0) { $0 << 8 | Int($1) }, image[20..<24].reduce(0) { $0 << 8 | Int($1) })
        #expect(w == 1000 && h == 900)
        // Decoded pixels: the bars' colours are there, and much of the page is not white.
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("png_colours.py")
        let counts = dir.appendingPathComponent("counts.txt")
        let cfd = open(counts.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let decode = try ChildProcess.spawn("python3", [script.path, png.path], descriptors: [nil, cfd, 2])
        close(cfd)
        #expect(await decode.wait() == .exited(0))
        let numbers = try String(contentsOf: counts, encoding: .utf8).split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        #expect(numbers.count == 2)
        let (notWhite, colours) = (numbers.first ?? 0, numbers.last ?? 0)
        #expect(notWhite > 20_000, "the charts and text cover more than 2% of the page (\(notWhite) pixels)")
        #expect(colours > 10, "several colours: the project bars, text, axes (\(colours))")

        let domFile = dir.appendingPathComponent("dom.html")
        let fd = open(domFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let dump = try ChildProcess.spawn(chromium, common + ["--dump-dom", page.absoluteString], descriptors: [nil, fd, nil])
        close(fd)
        #expect(await dump.wait() == .exited(0))
        let dom = try String(contentsOf: domFile, encoding: .utf8)
        let bars = Self.paths(in: dom, class: "bar")
        #expect(bars.count == 5, "one bar segment per (day, project) with GPU-hours")
        #expect(bars.allSatisfy { !$0.isEmpty && $0.hasPrefix("M") })
        #expect(Self.paths(in: dom, class: "util").count == 2, "one utilisation bar per node")
    }

    /// The `d` attributes of `<path class="…">` elements in serialized DOM.
    static func paths(in dom: String, class name: String) -> [String] {
        dom.components(separatedBy: "<path ").dropFirst().compactMap { tag -> String? in
            let head = tag.prefix { $0 != ">" }
            guard head.contains("class=\"\(name)\"") else { return nil }
            guard let d = head.range(of: " d=\"") else { return "" }
            return String(head[d.upperBound...].prefix { $0 != "\"" })
        }
    }
}
