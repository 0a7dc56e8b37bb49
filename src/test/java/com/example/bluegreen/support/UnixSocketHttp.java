package com.example.bluegreen.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** A minimal HTTP/1.1 GET over a unix domain socket (the JDK's HttpClient speaks only TCP). */
public final class UnixSocketHttp {

	private UnixSocketHttp() {
	}

	/** The whole response (status line, headers, body) as text. */
	public static String get(Path socket, String path) {
		try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
			channel.connect(UnixDomainSocketAddress.of(socket));
			String request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
			channel.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII)));
			InputStream in = Channels.newInputStream(channel);
			ByteArrayOutputStream response = new ByteArrayOutputStream();
			in.transferTo(response);
			return response.toString(StandardCharsets.UTF_8);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("GET " + path + " over " + socket + " failed", ex);
		}
	}

	public static int status(String response) {
		return Integer.parseInt(response.substring("HTTP/1.1 ".length(), "HTTP/1.1 ".length() + 3));
	}

}
