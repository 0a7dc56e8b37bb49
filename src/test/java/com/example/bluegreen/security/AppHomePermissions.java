package com.example.bluegreen.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the scripts leave under APP_HOME after a deploy: nothing world-writable (symlinks have no mode of
 * their own), run/ setgid so the sockets get nginx's group, and the sockets group read/write only. The
 * relay's sockets (relay-COLOR.sock) are nginx's own: nginx makes every unix socket it listens on 0666 and
 * has no setting for it, and they give no more than the color's TCP port on loopback already gives.
 */
final class AppHomePermissions {

	private static final int WORLD_WRITABLE = 0002;

	private static final int SETGID = 02000;

	private static final int FILE_TYPE = 0170000;

	private static final int SOCKET = 0140000;

	private AppHomePermissions() {
	}

	static void assertTight(Path appHome) {
		List<String> worldWritable;
		try (Stream<Path> files = Files.walk(appHome)) {
			worldWritable = files.filter((file) -> !Files.isSymbolicLink(file))
				.filter((file) -> !isRelaySocket(file))
				.filter((file) -> (mode(file) & WORLD_WRITABLE) != 0)
				.map((file) -> describe(file))
				.toList();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		assertThat(worldWritable).as("world-writable under %s", appHome).isEmpty();

		Path run = appHome.resolve("run");
		assertThat(mode(run) & SETGID).as("run/ is setgid: %s", describe(run)).isNotZero();
		List<Path> sockets;
		try (Stream<Path> files = Files.list(run)) {
			sockets = files.filter((file) -> !Files.isSymbolicLink(file))
				.filter((file) -> (mode(file) & FILE_TYPE) == SOCKET)
				.filter((file) -> !isRelaySocket(file))
				.toList();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		assertThat(sockets).as("the live color's socket in %s", run).isNotEmpty();
		for (Path socket : sockets) {
			assertThat(mode(socket) & 0777).as("mode of %s", describe(socket)).isEqualTo(0660);
			assertThat(group(socket)).as("group of %s (from the setgid run/)", socket).isEqualTo(group(run));
		}
	}

	private static boolean isRelaySocket(Path file) {
		return (mode(file) & FILE_TYPE) == SOCKET && file.getFileName().toString().matches("relay-(blue|green)\\.sock");
	}

	static int mode(Path file) {
		try {
			return (int) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	static String owner(Path file) {
		return attributes(file).owner().getName();
	}

	private static String group(Path file) {
		return attributes(file).group().getName();
	}

	private static PosixFileAttributes attributes(Path file) {
		try {
			return Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	private static String describe(Path file) {
		return String.format("%s %o %s:%s", file, mode(file) & 07777, owner(file), group(file));
	}

}
