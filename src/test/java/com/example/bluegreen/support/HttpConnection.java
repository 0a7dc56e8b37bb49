package com.example.bluegreen.support;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The tests' and the load generator's one HTTP/1.1 client: one connection, over TCP or a unix domain socket,
 * kept alive between requests, that never retries: what a non-browser API client does. A request that
 * meets a closed or reset connection is an error for the caller, as it would be for such a client (the
 * JDK's HttpClient retries some requests by itself, which would hide exactly what the deploy tests
 * measure, and speaks only TCP). {@link #sendRaw} writes a request byte for byte, for what a well-behaved
 * client would not send.
 * <p>
 * Depends on the JDK only: scripts/loadgen.sh compiles it with {@link LoadGenerator} outside the test build.
 */
public final class HttpConnection implements Closeable {

	private static final int CONNECT_TIMEOUT_MILLIS = 5000;

	/** Above the longest request the tests make (25 s); a unix socket channel has no read timeout. */
	private static final int READ_TIMEOUT_MILLIS = 90_000;

	private final String host;

	private final int port;

	private final Path unixSocket;

	private final String hostHeader;

	private Closeable channel;

	private InputStream in;

	private OutputStream out;

	/** A connection to {@code host:port} over TCP, opened by the first request. */
	public HttpConnection(String host, int port) {
		this.host = host;
		this.port = port;
		this.unixSocket = null;
		this.hostHeader = host + ":" + port;
	}

	private HttpConnection(Path unixSocket) {
		this.host = null;
		this.port = -1;
		this.unixSocket = unixSocket;
		this.hostHeader = "localhost";
	}

	/** A connection to the unix domain socket at {@code socket} (Host: localhost), opened by the first request. */
	public static HttpConnection unix(Path socket) {
		return new HttpConnection(socket);
	}

	public Response get(String path, Map<String, String> headers) throws IOException {
		return send("GET", path, headers, null);
	}

	public Response post(String path, String json) throws IOException {
		return send("POST", path, Map.of("Content-Type", "application/json"), json);
	}

	/** Sends on the open connection (opening one when needed); any I/O error closes it and is thrown. */
	public Response send(String method, String path, Map<String, String> headers, String body) throws IOException {
		byte[] content = (body != null) ? body.getBytes(StandardCharsets.UTF_8) : new byte[0];
		StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n");
		head.append("Host: ").append(this.hostHeader).append("\r\n");
		headers.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
		if (body != null) {
			head.append("Content-Length: ").append(content.length).append("\r\n");
		}
		head.append("\r\n");
		byte[] headBytes = head.toString().getBytes(StandardCharsets.US_ASCII);
		byte[] request = new byte[headBytes.length + content.length];
		System.arraycopy(headBytes, 0, request, 0, headBytes.length);
		System.arraycopy(content, 0, request, headBytes.length, content.length);
		return sendRaw(request);
	}

	/**
	 * POSTs {@code body} in chunks of {@code chunkSize} bytes ({@code Transfer-Encoding: chunked}, no
	 * Content-Length), as a client streaming a body of unknown size does.
	 */
	public Response postChunked(String path, String contentType, String body, int chunkSize) throws IOException {
		byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
		ByteArrayOutputStream request = new ByteArrayOutputStream(bytes.length + 512);
		request.writeBytes(("POST " + path + " HTTP/1.1\r\nHost: " + this.hostHeader + "\r\nContent-Type: " + contentType
				+ "\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
		for (int offset = 0; offset < bytes.length; offset += chunkSize) {
			int length = Math.min(chunkSize, bytes.length - offset);
			request.writeBytes((Integer.toHexString(length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
			request.write(bytes, offset, length);
			request.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
		}
		request.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
		return sendRaw(request.toByteArray());
	}

	/**
	 * Writes {@code request} exactly as given on the open connection (opening one when needed) and reads one
	 * response; any I/O error closes the connection and is thrown.
	 */
	public Response sendRaw(byte[] request) throws IOException {
		try {
			ensureOpen();
			this.out.write(request);
			this.out.flush();
			Response response = readResponse();
			if ("close".equalsIgnoreCase(response.header("Connection"))) {
				close();
			}
			return response;
		}
		catch (IOException ex) {
			close();
			throw ex;
		}
	}

	private void ensureOpen() throws IOException {
		if (this.channel != null) {
			return;
		}
		if (this.unixSocket != null) {
			SocketChannel newChannel = SocketChannel.open(StandardProtocolFamily.UNIX);
			try {
				newChannel.connect(UnixDomainSocketAddress.of(this.unixSocket));
			}
			catch (IOException ex) {
				newChannel.close();
				throw ex;
			}
			this.channel = newChannel;
			this.in = new BufferedInputStream(Channels.newInputStream(newChannel), 16384);
			this.out = Channels.newOutputStream(newChannel);
			return;
		}
		Socket newSocket = new Socket();
		try {
			newSocket.connect(new InetSocketAddress(this.host, this.port), CONNECT_TIMEOUT_MILLIS);
			newSocket.setSoTimeout(READ_TIMEOUT_MILLIS);
			newSocket.setTcpNoDelay(true);
		}
		catch (IOException ex) {
			newSocket.close();
			throw ex;
		}
		this.channel = newSocket;
		this.in = new BufferedInputStream(newSocket.getInputStream(), 16384);
		this.out = newSocket.getOutputStream();
	}

	private Response readResponse() throws IOException {
		String statusLine = readLine();
		if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12) {
			throw new IOException("Not an HTTP response: " + statusLine);
		}
		int status = Integer.parseInt(statusLine.substring(9, 12));
		Map<String, String> headers = new LinkedHashMap<>();
		for (String line = readLine(); !line.isEmpty(); line = readLine()) {
			int colon = line.indexOf(':');
			if (colon > 0) {
				String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
				String value = line.substring(colon + 1).trim();
				if (name.equals("set-cookie")) {
					// Every cookie (the app's session, nginx's bgid), one per line, in the order sent.
					headers.merge(name, value, (first, next) -> first + "\n" + next);
				}
				else {
					headers.put(name, value);
				}
			}
		}
		byte[] body;
		String length = headers.get("content-length");
		if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
			body = readChunked();
		}
		else if (length != null) {
			body = this.in.readNBytes(Integer.parseInt(length));
		}
		else if ("close".equalsIgnoreCase(headers.get("connection"))) {
			body = this.in.readAllBytes();
		}
		else {
			body = new byte[0];
		}
		return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
	}

	private byte[] readChunked() throws IOException {
		ByteArrayOutputStream body = new ByteArrayOutputStream();
		for (int size = chunkSize(); size > 0; size = chunkSize()) {
			body.write(this.in.readNBytes(size));
			readLine();
		}
		for (String trailer = readLine(); !trailer.isEmpty(); trailer = readLine()) {
			// trailers are not used
		}
		return body.toByteArray();
	}

	private int chunkSize() throws IOException {
		return Integer.parseInt(readLine().split(";")[0].trim(), 16);
	}

	private String readLine() throws IOException {
		StringBuilder line = new StringBuilder(64);
		for (int c = this.in.read(); c != '\n'; c = this.in.read()) {
			if (c == -1) {
				throw new EOFException("Connection closed by the server");
			}
			if (c != '\r') {
				line.append((char) c);
			}
		}
		return line.toString();
	}

	@Override
	public void close() {
		if (this.channel != null) {
			try {
				this.channel.close();
			}
			catch (IOException ex) {
				// closing anyway
			}
			this.channel = null;
		}
	}

	/**
	 * Status, headers (the last of each name, looked up in any case; Set-Cookie: all of them, one per line)
	 * and the body (de-chunked).
	 */
	public record Response(int status, Map<String, String> headers, String body) {

		public String header(String name) {
			return this.headers.get(name.toLowerCase(Locale.ROOT));
		}

		/** The cookies set, as NAME=VALUE in the order sent: what a browser sends back in Cookie. */
		public List<String> cookies() {
			String all = header("Set-Cookie");
			return (all != null) ? all.lines().map((cookie) -> cookie.split(";", 2)[0]).toList() : List.of();
		}

	}

}
