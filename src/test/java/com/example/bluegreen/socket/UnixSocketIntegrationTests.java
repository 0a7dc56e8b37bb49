package com.example.bluegreen.socket;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

import com.example.bluegreen.support.RunningApp;
import com.example.bluegreen.support.UnixSocketHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;

/** The unix socket nginx's socket-mode upstream connects to. */
class UnixSocketIntegrationTests {

	@Test
	void requestOverUnixSocketIsServedAlongsideTcp(@TempDir Path dir) {
		Path socket = dir.resolve("blue.sock");
		try (RunningApp app = RunningApp.start("blue", "app.socket.path=" + socket)) {
			String response = UnixSocketHttp.get(socket, "/api/version");

			assertThat(UnixSocketHttp.status(response)).isEqualTo(200);
			assertThat(response).contains("X-App-Color: blue", "\"color\":\"blue\"");
			assertThat(UnixSocketHttp.status(UnixSocketHttp.get(socket, "/hash/abc"))).isEqualTo(200);
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

		try (RunningApp app = RunningApp.start("green", "app.socket.path=" + socket)) {
			assertThat(UnixSocketHttp.status(UnixSocketHttp.get(socket, "/api/version"))).isEqualTo(200);
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
	void actuatorIsNotServedOnUnixSocket(@TempDir Path dir) {
		Path socket = dir.resolve("blue.sock");
		try (RunningApp app = RunningApp.start("blue", "app.socket.path=" + socket)) {
			assertThat(UnixSocketHttp.status(UnixSocketHttp.get(socket, "/actuator/health"))).isEqualTo(404);
			assertThat(UnixSocketHttp.status(UnixSocketHttp.get(socket, "/actuator/info"))).isEqualTo(404);
		}
	}

}
