package com.example.bluegreen.security;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One request written byte for byte on a new connection, for what HttpConnection does not send: a chunked
 * body without Content-Length. The answer is read until the server closes (the request says
 * "Connection: close").
 */
final class RawHttp {

	private RawHttp() {
	}

	/** POSTs {@code body} as chunks of {@code chunkSize} bytes, with no Content-Length. */
	static Response postChunked(int port, String path, String contentType, String body, int chunkSize) {
		byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
		try (Socket socket = new Socket()) {
			socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
			socket.setSoTimeout(30_000);
			OutputStream out = socket.getOutputStream();
			String head = "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + contentType
					+ "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
			out.write(head.getBytes(StandardCharsets.US_ASCII));
			for (int offset = 0; offset < bytes.length; offset += chunkSize) {
				int length = Math.min(chunkSize, bytes.length - offset);
				out.write((Integer.toHexString(length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
				out.write(bytes, offset, length);
				out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
			}
			out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
			out.flush();
			return Response.parse(readAll(socket.getInputStream()));
		}
		catch (IOException ex) {
			throw new UncheckedIOException("POST " + path + " (chunked) to port " + port + " failed", ex);
		}
	}

	private static String readAll(InputStream in) throws IOException {
		ByteArrayOutputStream response = new ByteArrayOutputStream();
		in.transferTo(response);
		return response.toString(StandardCharsets.UTF_8);
	}

	/** Status, headers (lower-case names) and the body as sent (chunk sizes included when chunked). */
	record Response(int status, Map<String, String> headers, String body) {

		static Response parse(String raw) {
			int end = raw.indexOf("\r\n\r\n");
			if (!raw.startsWith("HTTP/1.") || end < 0) {
				throw new IllegalStateException("Not an HTTP response: " + raw);
			}
			String[] lines = raw.substring(0, end).split("\r\n");
			Map<String, String> headers = new LinkedHashMap<>();
			for (int i = 1; i < lines.length; i++) {
				int colon = lines[i].indexOf(':');
				headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
			}
			return new Response(Integer.parseInt(lines[0].substring(9, 12)), headers, raw.substring(end + 4));
		}

		String header(String name) {
			return this.headers.get(name.toLowerCase(Locale.ROOT));
		}

	}

}
