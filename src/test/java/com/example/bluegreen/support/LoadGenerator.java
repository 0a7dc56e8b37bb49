package com.example.bluegreen.support;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Clients that send a GET/POST mix through nginx at a fixed pace and never retry: every response that is
 * not 2xx, and every I/O error, is a failure. Latency is measured from the intended send time, so a
 * stall is not hidden by the clients waiting for it (no coordinated omission).
 */
public final class LoadGenerator implements AutoCloseable {

	private static final Pattern ORDER_ID = Pattern.compile("\"id\":\"([0-9a-f-]{36})\"");

	private final String host;

	private final int port;

	private final boolean keepAlive;

	private final long intervalNanos;

	private final AtomicBoolean running = new AtomicBoolean(true);

	private final List<Thread> threads = new ArrayList<>();

	private final ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();

	private final ConcurrentLinkedQueue<String> acceptedOrders = new ConcurrentLinkedQueue<>();

	/**
	 * Starts {@code clients} clients, each sending one request every {@code interval}; keep-alive clients
	 * reuse their connection, the others open a new one per request.
	 */
	public LoadGenerator(String host, int port, int clients, boolean keepAlive, Duration interval) {
		this.host = host;
		this.port = port;
		this.keepAlive = keepAlive;
		this.intervalNanos = interval.toNanos();
		for (int i = 0; i < clients; i++) {
			int client = i;
			Thread thread = new Thread(() -> run(client), "load-" + i);
			thread.setDaemon(true);
			this.threads.add(thread);
			thread.start();
		}
	}

	private void run(int client) {
		HttpConnection connection = new HttpConnection(this.host, this.port);
		long next = System.nanoTime() + (this.intervalNanos * client / Math.max(1, this.threads.size() + 1));
		for (long i = client; this.running.get(); i++) {
			LockSupport.parkNanos(next - System.nanoTime());
			long intended = next;
			next += this.intervalNanos;
			String kind = kind(i);
			int status;
			String error = null;
			try {
				HttpConnection.Response response = send(connection, kind, i);
				status = response.status();
				if (kind.equals("order") && status == 202) {
					Matcher id = ORDER_ID.matcher(response.body());
					if (id.find()) {
						this.acceptedOrders.add(id.group(1));
					}
				}
			}
			catch (IOException ex) {
				status = -1;
				error = ex.getClass().getSimpleName() + ": " + ex.getMessage();
			}
			if (!this.keepAlive) {
				connection.close();
			}
			this.samples.add(new Sample(intended, System.nanoTime() - intended, kind, status, error));
		}
		connection.close();
	}

	private static String kind(long i) {
		return switch ((int) (i % 10)) {
			case 0 -> "order";
			case 1, 2, 3 -> "hash";
			default -> "version";
		};
	}

	private HttpConnection.Response send(HttpConnection connection, String kind, long i) throws IOException {
		Map<String, String> headers = this.keepAlive ? Map.of() : Map.of("Connection", "close");
		return switch (kind) {
			case "order" -> connection.send("POST", "/api/orders", Map.of("Content-Type", "application/json"),
					"{\"item\":\"load-" + i + "\",\"quantity\":1}");
			case "hash" -> connection.get("/hash/load-" + (i % 97), headers);
			default -> connection.get("/api/version", headers);
		};
	}

	/** Stops the clients, waits for their last requests, and returns what they saw. */
	public Result stop() {
		this.running.set(false);
		for (Thread thread : this.threads) {
			try {
				thread.join(100_000);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
		return new Result(List.copyOf(this.samples), List.copyOf(this.acceptedOrders));
	}

	@Override
	public void close() {
		if (this.running.get()) {
			stop();
		}
	}

	/** One request: when it was meant to be sent (System.nanoTime), how long it took, what it got. */
	public record Sample(long intendedNanos, long latencyNanos, String kind, int status, String error) {

		public boolean ok() {
			return this.status >= 200 && this.status < 300;
		}

	}

	public record Result(List<Sample> samples, List<String> acceptedOrders) {

		public long total() {
			return this.samples.size();
		}

		public List<Sample> failures() {
			return this.samples.stream().filter((sample) -> !sample.ok()).toList();
		}

		/** The latency percentile (0-100) in milliseconds of the samples sent at times matching the filter. */
		public double percentileMillis(double percentile, LongPredicate sentAt) {
			List<Long> latencies = new ArrayList<>();
			for (Sample sample : this.samples) {
				if (sentAt.test(sample.intendedNanos())) {
					latencies.add(sample.latencyNanos());
				}
			}
			if (latencies.isEmpty()) {
				return Double.NaN;
			}
			Collections.sort(latencies);
			int index = (int) Math.ceil(percentile / 100.0 * latencies.size()) - 1;
			return latencies.get(Math.max(0, index)) / 1_000_000.0;
		}

		public long count(LongPredicate sentAt) {
			return this.samples.stream().filter((sample) -> sentAt.test(sample.intendedNanos())).count();
		}

		public String describeFailures(int max) {
			StringBuilder text = new StringBuilder();
			failures().stream()
				.limit(max)
				.forEach((failure) -> text.append("\n  ")
					.append(failure.kind())
					.append(' ')
					.append((failure.status() > 0) ? "HTTP " + failure.status() : failure.error()));
			return text.toString();
		}

	}

}
