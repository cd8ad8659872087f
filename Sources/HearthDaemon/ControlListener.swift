import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Serves the control API (HTTP/1.1 through Hummingbird's router and HTTP/1 channel) on a
/// listening Unix socket: the one systemd passed (socket activation), or one bound at a path.
///
/// Hummingbird's `Application` can only bind by path, which would unlink systemd's socket; this
/// service hands NIO the descriptor instead (`ServerBootstrap.bind(_:)`). An inherited socket
/// is closed on exit (systemd keeps its own copy) and its path is never unlinked.
struct ControlListener<Responder: HTTPResponder>: Service where Responder.Context == ControlContext {
    /// Where the listening socket comes from.
    enum Endpoint: Sendable {
        /// A listening descriptor passed by systemd.
        case inherited(descriptor: Int32, path: String)
        /// A path to bind (any stale socket file must be removed first).
        case path(String)
    }

    let endpoint: Endpoint
    let responder: Responder
    let logger: Logger
    /// Called once the socket accepts connections.
    let onRunning: @Sendable () async -> Void

    func run() async throws {
        let responder = self.responder
        let logger = self.logger
        let http = HTTP1Channel(responder: { request, writer, channel in
            let context = ControlContext(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                logger.debug("unhandled error in a control request: \(error)")
                response = Response(status: .internalServerError)
            }
            response.headers[.server] = "hearthd"
            try await writer.write(response: response.head, body: response.body)
        }, configuration: .init(idleTimeout: .seconds(30)))
        // One loop accepts, owns every connection and runs the loop below that takes them: an
        // accepted connection then reaches its handler without changing threads. With a loop
        // to accept and others to serve, each connection crossed between them five times before
        // its request was read (registration, the accept's answer, the consumer in Swift's pool,
        // the handler's task), and on an idle node each crossing wakes a sleeping thread.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let bootstrap = ServerBootstrap(group: loop, childGroup: loop)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        let server: NIOAsyncChannel<HTTP1Channel.Value, Never>
        switch endpoint {
        case .inherited(let descriptor, _):
            server = try await bootstrap.bind(descriptor) { http.setup(channel: $0, logger: logger) }
        case .path(let path):
            server = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false) {
                http.setup(channel: $0, logger: logger)
            }
        }
        await onRunning()
        // Graceful shutdown closes the listener (no new connections); requests in flight finish.
        let executor = EventLoopExecutor(loop)
        await withGracefulShutdownHandler {
            await withTaskExecutorPreference(executor) {
                await withDiscardingTaskGroup { group in
                    do {
                        try await server.executeThenClose { inbound in
                            for try await connection in inbound {
                                group.addTask(executorPreference: executor) { await http.handle(value: connection, logger: logger) }
                            }
                        }
                    } catch {
                        logger.debug("control socket closed: \(error)")
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }
}
