package com.example.bluegreen.support;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The project's one load generator, used by the deploy tests, the benchmark and the demo (the last two
 * through {@link LoadGeneratorCommand} and scripts/loadgen.sh). Clients send a GET/POST mix at a fixed
 * pace (open loop: each request has an intended send time, whatever the previous answers took) and never
 * retry: every response that is not 2xx, and every I/O error, is a failure, as it would be for an API
 * client. Latency is measured from the intended send time, so a stall is not hidden by the clients
 * waiting for it (no coordinated omission). With a zero interval the clients run closed loop instead:
 * each sends its next request as soon as the previous one is answered (throughput at saturation).
 * <p>
 * Depends on the JDK and {@link HttpConnection} only, so that it compiles outside the test build.
 */
public final class LoadGenerator implements AutoCloseable {

	private static final Pattern ORDER_ID = Pattern.compile("\"id\":\"([0-9a-f-]{36})\"");

	/** Lets every client thread start before the first intended send time. */
	private static final long START_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

	private final String host;

	private final int port;

	private final boolean keepAlive;

	private final long intervalNanos;

	private final Mix mix;

	private final int clients;

	private final long startNanos;

	private final AtomicBoolean running = new AtomicBoolean(true);

	private final List<Thread> threads = new ArrayList<>();

	private final ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();

	private final ConcurrentLinkedQueue<String> acceptedOrders = new ConcurrentLinkedQueue<>();

	/**
	 * Starts {@code clients} clients, each sending one request of the {@link Mix#MIXED} mix every
	 * {@code interval}; keep-alive clients reuse their connection, the others open a new one per request.
	 */
	public LoadGenerator(String host, int port, int clients, boolean keepAlive, Duration interval) {
		this(host, port, clients, keepAlive, interval, Mix.MIXED);
	}

	/** As above, with the request mix; a zero {@code interval} runs the clients closed loop. */
	public LoadGenerator(String host, int port, int clients, boolean keepAlive, Duration interval, Mix mix) {
		if (clients < 1 || interval.isNegative()) {
			throw new IllegalArgumentException("clients must be positive and interval not negative");
		}
		this.host = host;
		this.port = port;
		this.keepAlive = keepAlive;
		this.intervalNanos = interval.toNanos();
		this.mix = mix;
		this.clients = clients;
		this.startNanos = System.nanoTime() + START_DELAY_NANOS;
		for (int i = 0; i < clients; i++) {
			int client = i;
			Thread thread = new Thread(() -> run(client), "load-" + i);
			thread.setDaemon(true);
			this.threads.add(thread);
		}
		this.threads.forEach(Thread::start);
	}

	/** How many requests have been answered (or have failed) so far: for a test to wait on, never to sleep. */
	public int answered() {
		return this.samples.size();
	}

	/** When the first client sends its first request (System.nanoTime). */
	long startNanos() {
		return this.startNanos;
	}

	/**
	 * One client: client {@code c} sends requests c, c + clients, c + 2 clients... of the mix, the clients'
	 * first requests spread over one interval.
	 */
	private void run(int client) {
		HttpConnection connection = new HttpConnection(this.host, this.port);
		long first = this.startNanos + this.intervalNanos * client / this.clients;
		for (long n = 0; this.running.get(); n++) {
			long intended = first + n * this.intervalNanos;
			if (this.intervalNanos == 0) {
				awaitNanos(this.startNanos);
				intended = System.nanoTime();
			}
			else {
				awaitNanos(intended);
			}
			if (!this.running.get()) {
				break;
			}
			long index = n * this.clients + client;
			Kind kind = this.mix.kind(index);
			int status;
			String error = null;
			try {
				HttpConnection.Response response = send(connection, kind, index);
				status = response.status();
				if (kind == Kind.ORDER && status == 202) {
					Matcher id = ORDER_ID.matcher(response.body());
					if (id.find()) {
						this.acceptedOrders.add(id.group(1));
					}
				}
			}
			catch (IOException | RuntimeException ex) {
				status = -1;
				error = ex.getClass().getSimpleName() + ": " + ex.getMessage();
			}
			if (!this.keepAlive) {
				connection.close();
			}
			this.samples.add(new Sample(intended, System.nanoTime() - intended, kind.label, status, error));
		}
		connection.close();
	}

	/** Parks until {@code nanoTime} (parkNanos may return early) or until stopped. */
	private void awaitNanos(long nanoTime) {
		for (long wait = nanoTime - System.nanoTime(); wait > 0 && this.running.get(); wait = nanoTime - System.nanoTime()) {
			LockSupport.parkNanos(wait);
		}
	}

	private HttpConnection.Response send(HttpConnection connection, Kind kind, long index) throws IOException {
		Map<String, String> headers = this.keepAlive ? Map.of() : Map.of("Connection", "close");
		return switch (kind) {
			case ORDER -> connection.send("POST", "/api/orders", withJson(headers),
					"{\"item\":\"load-" + index + "\",\"quantity\":1}");
			case HASH -> connection.get("/hash/load-" + (index % 97), headers);
			case VERSION -> connection.get("/api/version", headers);
		};
	}

	private static Map<String, String> withJson(Map<String, String> headers) {
		Map<String, String> json = new LinkedHashMap<>(headers);
		json.put("Content-Type", "application/json");
		return json;
	}

	/** Stops the clients, waits for their last requests, and returns what they saw. */
	public Result stop() {
		this.running.set(false);
		this.threads.forEach(LockSupport::unpark);
		for (Thread thread : this.threads) {
			try {
				// Above HttpConnection's read timeout: a client's last request always ends before this.
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

	/** What the clients send. */
	public enum Mix {

		/** 10% POST /api/orders, 10% GET /hash/{input} (~1 ms of CPU), 80% GET /api/version. */
		MIXED,

		/** GET /api/version only: the lightest request, for the proxy's own overhead. */
		VERSION,

		/** 10% POST /api/orders, 90% GET /api/version: what the plain apps of src/test/apps serve. */
		PLAIN;

		Kind kind(long index) {
			if (this == VERSION) {
				return Kind.VERSION;
			}
			if (this == PLAIN) {
				return (index % 10 == 0) ? Kind.ORDER : Kind.VERSION;
			}
			return switch ((int) (index % 10)) {
				case 0 -> Kind.ORDER;
				case 1 -> Kind.HASH;
				default -> Kind.VERSION;
			};
		}

	}

	/** The kinds of request, as {@link Sample#kind()} names them. */
	enum Kind {

		ORDER("order"), HASH("hash"), VERSION("version");

		private final String label;

		Kind(String label) {
			this.label = label;
		}

	}

	/**
	 * One request: when it was meant to be sent (System.nanoTime), how long it took from then, its kind
	 * ("order", "hash" or "version"), the status (-1 for an I/O error) and the error.
	 */
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
