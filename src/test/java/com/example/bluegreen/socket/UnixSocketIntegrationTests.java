package com.example.bluegreen.socket;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Map;
import java.util.Set;

import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.RunningApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;

/** The unix socket nginx's socket-mode upstream connects to. */
class UnixSocketIntegrationTests {

	@Test
	void requestOverUnixSocketIsServedAlongsideTcp(@TempDir Path dir) throws IOException {
		Path socket = dir.resolve("blue.sock");
		try (RunningApp app = RunningApp.start("blue", "app.socket.path=" + socket);
				HttpConnection connection = HttpConnection.unix(socket)) {
			HttpConnection.Response response = connection.get("/api/version", Map.of());

			assertThat(response.status()).isEqualTo(200);
			assertThat(response.header("X-App-Color")).isEqualTo("blue");
			assertThat(response.body()).contains("\"color\":\"blue\"");
			assertThat(connection.get("/hash/abc", Map.of()).status()).as("the same keep-alive connection").isEqualTo(200);
		}
	}

	@Test
	void socketIsGroupReadableAndWritableOnly(@TempDir Path dir) throws Exception {
		Path socket = dir.resolve("blue.sock");
		try (RunningApp app = RunningApp.start("blue", "app.socket.path=" + socket)) {
			assertThat(Files.getPosixFilePermissions(socket)).containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ,
					PosixFilePermission.OWNER_WRITE, PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE);
		}
	}

	@Test
	void staleSocketFromCrashedProcessIsReplaced(@TempDir Path dir) throws Exception {
		Path socket = dir.resolve("green.sock");
		try (ServerSocketChannel crashed = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
			crashed.bind(UnixDomainSocketAddress.of(socket));
		}
		assertThat(Files.exists(socket)).isTrue();

		try (RunningApp app = RunningApp.start("green", "app.socket.path=" + socket);
				HttpConnection connection = HttpConnection.unix(socket)) {
			assertThat(connection.get("/api/version", Map.of()).status()).isEqualTo(200);
		}
	}

	@Test
	void socketServedByAnotherProcessIsNotTakenOver(@TempDir Path dir) throws Exception {
		Path socket = dir.resolve("green.sock");
		try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
			other.bind(UnixDomainSocketAddress.of(socket));

			assertThatException().isThrownBy(() -> RunningApp.start("green", "app.socket.path=" + socket))
				.withStackTraceContaining("is served by another process");
			assertThat(Files.exists(socket)).isTrue();
		}
	}

	@Test
	void actuatorIsNotServedOnUnixSocket(@TempDir Path dir) throws IOException {
		Path socket = dir.resolve("blue.sock");
		try (RunningApp app = RunningApp.start("blue", "app.socket.path=" + socket);
				HttpConnection connection = HttpConnection.unix(socket)) {
			assertThat(connection.get("/actuator/health", Map.of()).status()).isEqualTo(404);
			assertThat(connection.get("/actuator/info", Map.of()).status()).isEqualTo(404);
		}
	}

}
