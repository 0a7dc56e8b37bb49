package com.example.bluegreen.socket;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.catalina.connector.Connector;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.apache.coyote.http11.Http11NioProtocol;

import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;

/**
 * Serves HTTP on a unix domain socket as well as on the TCP port, when {@code app.socket.path} is set.
 * nginx's socket-mode upstream points at a symlink to this socket, so a deploy switches traffic by moving
 * the symlink: no nginx reload, no client connection closed (see README, "How a deploy works").
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnExpression("!'${app.socket.path:}'.isBlank()")
class UnixSocketConfiguration {

	private static final Log logger = LogFactory.getLog(UnixSocketConfiguration.class);

	@Bean
	WebServerFactoryCustomizer<TomcatServletWebServerFactory> unixSocketConnector(SocketProperties properties) {
		return new UnixSocketConnectorCustomizer(properties);
	}

	/** Runs last, so the TCP connector's customizers (timeouts, limits) exist to be copied. */
	static final class UnixSocketConnectorCustomizer
			implements WebServerFactoryCustomizer<TomcatServletWebServerFactory>, Ordered {

		private final SocketProperties socket;

		UnixSocketConnectorCustomizer(SocketProperties socket) {
			this.socket = socket;
		}

		@Override
		public void customize(TomcatServletWebServerFactory factory) {
			Path path = Path.of(this.socket.path()).toAbsolutePath();
			prepare(path);
			Connector connector = new Connector(Http11NioProtocol.class.getName());
			// Same keep-alive, timeouts and limits as the TCP connector.
			factory.getConnectorCustomizers().forEach((customizer) -> customizer.customize(connector));
			connector.setProperty("unixDomainSocketPath", path.toString());
			connector.setProperty("unixDomainSocketPathPermissions", this.socket.permissions());
			connector.setProperty("acceptCount", Integer.toString(this.socket.backlog()));
			factory.addAdditionalConnectors(connector);
			logger.info("Serving HTTP on unix socket " + path);
		}

		/**
		 * Creates the socket's directory and removes a socket file left by a process that died without
		 * cleaning up; refuses to start when another process still serves on it.
		 */
		private static void prepare(Path path) {
			try {
				Files.createDirectories(path.getParent());
				if (Files.exists(path)) {
					if (isServing(path)) {
						throw new IllegalStateException("Unix socket " + path + " is served by another process");
					}
					Files.delete(path);
					logger.info("Removed stale unix socket " + path);
				}
			}
			catch (IOException ex) {
				throw new UncheckedIOException("Cannot prepare unix socket " + path, ex);
			}
		}

		private static boolean isServing(Path path) {
			try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
				return channel.connect(UnixDomainSocketAddress.of(path));
			}
			catch (IOException ex) {
				return false;
			}
		}

		@Override
		public int getOrder() {
			return Ordered.LOWEST_PRECEDENCE;
		}

	}

}
