package com.example.bluegreen.support;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * TCP ports for the colors and nginx of a test, below the kernel's ephemeral range: a port from that range
 * (what {@code new ServerSocket(0)} hands out) can be taken as the local port of any outgoing connection,
 * a load generator's for instance, between the test's pick and the app's bind, and the deploy then fails
 * with "port busy".
 */
public final class FreePorts {

	private static final Set<Integer> handedOut = ConcurrentHashMap.newKeySet();

	private FreePorts() {
	}

	/** A port nothing is bound to now, not handed out before in this JVM. */
	public static int next() {
		int low = ephemeralLow();
		for (int i = 0; i < 1000; i++) {
			int port = ThreadLocalRandom.current().nextInt(10_000, low);
			if (bindable(port) && handedOut.add(port)) {
				return port;
			}
		}
		throw new IllegalStateException("No free TCP port between 10000 and " + low);
	}

	private static boolean bindable(int port) {
		try (ServerSocket socket = new ServerSocket()) {
			socket.bind(new InetSocketAddress("0.0.0.0", port));
			return true;
		}
		catch (IOException ex) {
			return false;
		}
	}

	private static int ephemeralLow() {
		try {
			int low = Integer.parseInt(Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+")[0]);
			return (low > 11_000) ? low : 32_768;
		}
		catch (IOException | RuntimeException ex) {
			return 32_768;
		}
	}

}
