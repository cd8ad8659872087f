import Prometheus

/// The serving metrics, in Prometheus' text format at `GET /metrics`:
/// `hearth_serve_requests_total{route, status}`, `hearth_serve_generated_tokens_total`,
/// `hearth_serve_prompt_tokens_total`, `hearth_serve_time_to_first_token_seconds` (histogram)
/// and `hearth_serve_streams` (admitted requests, gauge).
public final class ServeMetrics: Sendable {
    /// The registry the metrics live in.
    public let registry = PrometheusCollectorRegistry()
    let generated: Counter
    let promptTokens: Counter
    let timeToFirstToken: ValueHistogram
    let streams: Gauge

    public init() {
        generated = registry.makeCounter(descriptor: .init(
            namespace: "hearth", subsystem: "serve", metricName: "generated_tokens", unitName: "total",
            helpText: "Tokens generated."))
        promptTokens = registry.makeCounter(descriptor: .init(
            namespace: "hearth", subsystem: "serve", metricName: "prompt_tokens", unitName: "total",
            helpText: "Prompt tokens read."))
        timeToFirstToken = registry.makeValueHistogram(
            descriptor: .init(namespace: "hearth", subsystem: "serve", metricName: "time_to_first_token", unitName: "seconds",
                              helpText: "From a generation request's arrival to its first generated token."),
            buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
        streams = registry.makeGauge(descriptor: .init(
            namespace: "hearth", subsystem: "serve", metricName: "streams", unitName: "",
            helpText: "Requests admitted (decoding or queued)."))
    }

    /// Counts a finished request (or the start of a streamed one) under its route and status.
    func request(route: String, status: Int) {
        registry.makeCounter(
            descriptor: .init(namespace: "hearth", subsystem: "serve", metricName: "requests", unitName: "total",
                              helpText: "HTTP requests by route and status."),
            labels: [("route", route), ("status", String(status))]
        ).increment()
    }

    func countGenerated() { generated.increment() }
    func countPrompt(_ tokens: Int) { promptTokens.increment(by: Int64(tokens)) }
    func recordTimeToFirstToken(_ seconds: Double) { timeToFirstToken.record(seconds) }
    func setStreams(_ n: Int) { streams.set(to: Double(n)) }

    /// The exposition text.
    public func render() -> String { registry.emitToString() }
}
