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
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.1 client connection that never retries: what a non-browser API client does. A request that
 * meets a closed or reset connection is an error for the caller, as it would be for such a client (the
 * JDK's HttpClient retries some requests by itself, which would hide exactly what the deploy tests
 * measure).
 */
public final class HttpConnection implements Closeable {

	private final String host;

	private final int port;

	private Socket socket;

	private InputStream in;

	private OutputStream out;

	public HttpConnection(String host, int port) {
		this.host = host;
		this.port = port;
	}

	public Response get(String path, Map<String, String> headers) throws IOException {
		return send("GET", path, headers, null);
	}

	public Response post(String path, String json) throws IOException {
		return send("POST", path, Map.of("Content-Type", "application/json"), json);
	}

	/** Sends on the open connection (opening one when needed); any I/O error closes it and is thrown. */
	public Response send(String method, String path, Map<String, String> headers, String body) throws IOException {
		try {
			ensureOpen();
			byte[] content = (body != null) ? body.getBytes(StandardCharsets.UTF_8) : new byte[0];
			StringBuilder request = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n");
			request.append("Host: ").append(this.host).append(':').append(this.port).append("\r\n");
			headers.forEach((name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
			if (body != null) {
				request.append("Content-Length: ").append(content.length).append("\r\n");
			}
			request.append("\r\n");
			this.out.write(request.toString().getBytes(StandardCharsets.US_ASCII));
			this.out.write(content);
			this.out.flush();
			Response response = readResponse();
			if ("close".equalsIgnoreCase(response.headers().get("connection"))) {
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
		if (this.socket == null) {
			Socket newSocket = new Socket();
			newSocket.connect(new InetSocketAddress(this.host, this.port), 5000);
			newSocket.setSoTimeout(90_000);
			newSocket.setTcpNoDelay(true);
			this.socket = newSocket;
			this.in = new BufferedInputStream(newSocket.getInputStream());
			this.out = newSocket.getOutputStream();
		}
	}

	private Response readResponse() throws IOException {
		String statusLine = readLine();
		if (!statusLine.startsWith("HTTP/1.")) {
			throw new IOException("Not an HTTP response: " + statusLine);
		}
		int status = Integer.parseInt(statusLine.substring(9, 12));
		Map<String, String> headers = new LinkedHashMap<>();
		for (String line = readLine(); !line.isEmpty(); line = readLine()) {
			int colon = line.indexOf(':');
			headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
		}
		byte[] body;
		if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
			body = readChunked();
		}
		else {
			body = this.in.readNBytes(Integer.parseInt(headers.getOrDefault("content-length", "0")));
		}
		return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
	}

	private byte[] readChunked() throws IOException {
		ByteArrayOutputStream body = new ByteArrayOutputStream();
		for (int size = Integer.parseInt(readLine().split(";")[0].trim(), 16); size > 0;
				size = Integer.parseInt(readLine().split(";")[0].trim(), 16)) {
			body.write(this.in.readNBytes(size));
			readLine();
		}
		readLine();
		return body.toByteArray();
	}

	private String readLine() throws IOException {
		StringBuilder line = new StringBuilder();
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
		if (this.socket != null) {
			try {
				this.socket.close();
			}
			catch (IOException ex) {
				// closing anyway
			}
			this.socket = null;
		}
	}

	public record Response(int status, Map<String, String> headers, String body) {

		public String header(String name) {
			return this.headers.get(name.toLowerCase(Locale.ROOT));
		}

	}

}
