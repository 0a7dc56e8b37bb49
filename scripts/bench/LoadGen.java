import java.io.BufferedInputStream;
import java.io.BufferedWriter;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.HdrHistogram.Histogram;

/**
 * The benchmark's HTTP load generator and analyser (scripts/bench.sh compiles and runs it; HdrHistogram
 * on the class path). Clients never retry: a request that meets a closed connection, or gets anything but
 * a 2xx, is a failed request, as it would be for an API client.
 *
 * <pre>
 * rate    --url U --rate R --connections C --out FILE [--mix mixed|version] [--stop-file F] [--max-seconds S]
 *         open loop: R requests/s in all, spread over C keep-alive connections, each request scheduled
 *         at a fixed time; latency counts from that intended time, so a stall is not hidden by clients
 *         waiting for it (no coordinated omission). Writes one CSV line per request.
 * max     --url U --connections C --seconds S [--warmup S] [--path P] [--mix version|mixed]
 *         closed loop, as fast as the server answers: throughput and latency at saturation.
 * analyze --samples FILE --events FILE --out-prefix P [--grace-ms MS] [--bucket-ms MS]
 *         latency and failures before, during and after the events; P.dat (latency over time) and
 *         P.marks (event moments) for gnuplot.
 * </pre>
 */
public final class LoadGen {

	private static final long HIGHEST_MICROS = TimeUnit.MINUTES.toMicros(10);

	private LoadGen() {
	}

	public static void main(String[] args) throws Exception {
		if (args.length == 0) {
			throw new IllegalArgumentException("usage: LoadGen rate|max|analyze --option value ...");
		}
		Options options = Options.parse(Arrays.copyOfRange(args, 1, args.length));
		switch (args[0]) {
			case "rate" -> Rate.run(options);
			case "max" -> Max.run(options);
			case "analyze" -> Analysis.run(options);
			default -> throw new IllegalArgumentException("unknown command " + args[0]);
		}
	}

	/** The request mix: 10% POST /api/orders, 10% GET /hash/{input} (~1 ms of CPU), 80% GET /api/version. */
	static char kind(String mix, long index) {
		if (!"mixed".equals(mix)) {
			return 'v';
		}
		int slot = (int) (index % 10);
		return (slot == 0) ? 'o' : (slot == 1) ? 'h' : 'v';
	}

	static Histogram histogram() {
		return new Histogram(HIGHEST_MICROS, 3);
	}

	static void record(Histogram histogram, long micros) {
		histogram.recordValue(Math.max(0, Math.min(micros, HIGHEST_MICROS)));
	}

	static String millis(double micros) {
		return String.format(Locale.ROOT, "%.2f", micros / 1000.0);
	}

	/** --name value pairs. */
	record Options(Map<String, String> values) {

		static Options parse(String[] args) {
			Map<String, String> values = new HashMap<>();
			for (int i = 0; i + 1 < args.length; i += 2) {
				if (!args[i].startsWith("--")) {
					throw new IllegalArgumentException("expected --option value, got " + args[i]);
				}
				values.put(args[i].substring(2), args[i + 1]);
			}
			return new Options(values);
		}

		String get(String name) {
			String value = this.values.get(name);
			if (value == null) {
				throw new IllegalArgumentException("--" + name + " is required");
			}
			return value;
		}

		String get(String name, String fallback) {
			return this.values.getOrDefault(name, fallback);
		}

		int integer(String name, int fallback) {
			return Integer.parseInt(get(name, Integer.toString(fallback)));
		}

	}

	/** One HTTP/1.1 connection that never retries; any I/O error closes it and is thrown. */
	static final class Connection {

		private final InetSocketAddress address;

		private final String host;

		private Socket socket;

		private InputStream in;

		private OutputStream out;

		Connection(URI url) {
			this.address = new InetSocketAddress(url.getHost(), url.getPort());
			this.host = url.getHost() + ":" + url.getPort();
		}

		int send(char kind, long index, String path) throws IOException {
			try {
				if (this.socket == null) {
					Socket newSocket = new Socket();
					newSocket.connect(this.address, 2000);
					newSocket.setSoTimeout(30_000);
					newSocket.setTcpNoDelay(true);
					this.socket = newSocket;
					this.in = new BufferedInputStream(newSocket.getInputStream(), 16384);
					this.out = newSocket.getOutputStream();
				}
				this.out.write(request(kind, index, path));
				this.out.flush();
				return readResponse();
			}
			catch (IOException ex) {
				close();
				throw ex;
			}
		}

		private byte[] request(char kind, long index, String path) {
			String head = switch (kind) {
				case 'o' -> {
					String body = "{\"item\":\"bench-" + index + "\",\"quantity\":1}";
					yield "POST /api/orders HTTP/1.1\r\nHost: " + this.host
							+ "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
				}
				case 'h' -> "GET /hash/bench-" + (index % 97) + " HTTP/1.1\r\nHost: " + this.host + "\r\n\r\n";
				default -> "GET " + path + " HTTP/1.1\r\nHost: " + this.host + "\r\n\r\n";
			};
			return head.getBytes(StandardCharsets.US_ASCII);
		}

		private int readResponse() throws IOException {
			String statusLine = readLine();
			if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12) {
				throw new IOException("not an HTTP response: " + statusLine);
			}
			int status = Integer.parseInt(statusLine.substring(9, 12));
			long length = 0;
			boolean chunked = false;
			boolean close = false;
			for (String line = readLine(); !line.isEmpty(); line = readLine()) {
				String lower = line.toLowerCase(Locale.ROOT);
				if (lower.startsWith("content-length:")) {
					length = Long.parseLong(lower.substring(15).trim());
				}
				else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
					chunked = true;
				}
				else if (lower.startsWith("connection:") && lower.contains("close")) {
					close = true;
				}
			}
			if (chunked) {
				for (long size = chunkSize(); size > 0; size = chunkSize()) {
					skip(size);
					readLine();
				}
				readLine();
			}
			else {
				skip(length);
			}
			if (close) {
				close();
			}
			return status;
		}

		private long chunkSize() throws IOException {
			return Long.parseLong(readLine().split(";")[0].trim(), 16);
		}

		private void skip(long bytes) throws IOException {
			this.in.skipNBytes(bytes);
		}

		private String readLine() throws IOException {
			StringBuilder line = new StringBuilder(64);
			for (int c = this.in.read(); c != '\n'; c = this.in.read()) {
				if (c == -1) {
					throw new EOFException("connection closed by the server");
				}
				if (c != '\r') {
					line.append((char) c);
				}
			}
			return line.toString();
		}

		void close() {
			if (this.socket != null) {
				try {
					this.socket.close();
				}
				catch (IOException ex) {
					// closed anyway
				}
				this.socket = null;
			}
		}

	}

	/** Open loop at a fixed arrival rate; one CSV line per request: sent (epoch ms), latency (us), kind, status. */
	static final class Rate {

		static void run(Options options) throws Exception {
			URI url = URI.create(options.get("url"));
			double rate = Double.parseDouble(options.get("rate"));
			int connections = options.integer("connections", 32);
			String mix = options.get("mix", "mixed");
			Path out = Path.of(options.get("out"));
			Path stopFile = Path.of(options.get("stop-file", out + ".stop"));
			long maxNanos = TimeUnit.SECONDS.toNanos(options.integer("max-seconds", 900));
			long intervalNanos = (long) (connections * 1e9 / rate);
			long startNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
			long epochMicrosAtStart = System.currentTimeMillis() * 1000 + 100_000;
			AtomicBoolean running = new AtomicBoolean(true);
			List<Client> clients = new ArrayList<>();
			for (int i = 0; i < connections; i++) {
				Client client = new Client(url, mix, i, connections, startNanos + intervalNanos * i / connections,
						intervalNanos, running);
				clients.add(client);
				client.thread.start();
			}
			long deadline = System.nanoTime() + maxNanos;
			while (!Files.exists(stopFile) && System.nanoTime() < deadline) {
				Thread.sleep(50);
			}
			running.set(false);
			for (Client client : clients) {
				client.thread.join(TimeUnit.SECONDS.toMillis(40));
			}
			Histogram all = histogram();
			long failed = 0;
			try (BufferedWriter writer = Files.newBufferedWriter(out)) {
				for (Client client : clients) {
					for (int i = 0; i < client.count; i++) {
						long sentMicros = epochMicrosAtStart + (client.intended[i] - startNanos) / 1000;
						writer.write(String.format(Locale.ROOT, "%.3f,%d,%c,%d%n", sentMicros / 1000.0, client.latency[i],
								client.kinds[i], client.status[i]));
						record(all, client.latency[i]);
						if (client.status[i] < 200 || client.status[i] > 299) {
							failed++;
						}
					}
				}
			}
			System.out.printf(Locale.ROOT, "requests=%d failed=%d p50_ms=%s p99_ms=%s max_ms=%s%n", all.getTotalCount(), failed,
					millis(all.getValueAtPercentile(50)), millis(all.getValueAtPercentile(99)), millis(all.getMaxValue()));
		}

		/** One keep-alive connection sending at its share of the rate. */
		static final class Client implements Runnable {

			private final Connection connection;

			private final String mix;

			private final int id;

			private final int connections;

			private final long firstNanos;

			private final long intervalNanos;

			private final AtomicBoolean running;

			private final Thread thread;

			long[] intended = new long[4096];

			int[] latency = new int[4096];

			char[] kinds = new char[4096];

			short[] status = new short[4096];

			int count;

			Client(URI url, String mix, int id, int connections, long firstNanos, long intervalNanos, AtomicBoolean running) {
				this.connection = new Connection(url);
				this.mix = mix;
				this.id = id;
				this.connections = connections;
				this.firstNanos = firstNanos;
				this.intervalNanos = intervalNanos;
				this.running = running;
				this.thread = new Thread(this, "client-" + id);
			}

			@Override
			public void run() {
				for (long n = 0; this.running.get(); n++) {
					long intendedNanos = this.firstNanos + n * this.intervalNanos;
					LockSupport.parkNanos(intendedNanos - System.nanoTime());
					if (!this.running.get()) {
						break;
					}
					long index = n * this.connections + this.id;
					char kind = kind(this.mix, index);
					int code;
					try {
						code = this.connection.send(kind, index, "/api/version");
					}
					catch (IOException | RuntimeException ex) {
						code = -1;
					}
					add(intendedNanos, (System.nanoTime() - intendedNanos) / 1000, kind, code);
				}
				this.connection.close();
			}

			private void add(long intendedNanos, long micros, char kind, int code) {
				if (this.count == this.intended.length) {
					int size = this.count * 2;
					this.intended = Arrays.copyOf(this.intended, size);
					this.latency = Arrays.copyOf(this.latency, size);
					this.kinds = Arrays.copyOf(this.kinds, size);
					this.status = Arrays.copyOf(this.status, size);
				}
				this.intended[this.count] = intendedNanos;
				this.latency[this.count] = (int) Math.min(micros, Integer.MAX_VALUE);
				this.kinds[this.count] = kind;
				this.status[this.count] = (short) code;
				this.count++;
			}

		}

	}

	/** Closed loop: each connection sends its next request as soon as the previous one is answered. */
	static final class Max {

		static void run(Options options) throws Exception {
			URI url = URI.create(options.get("url"));
			int connections = options.integer("connections", 32);
			String path = options.get("path", "/api/version");
			String mix = options.get("mix", "version");
			long warmupNanos = TimeUnit.SECONDS.toNanos(options.integer("warmup", 2));
			long measureNanos = TimeUnit.SECONDS.toNanos(options.integer("seconds", 10));
			long start = System.nanoTime();
			long measureFrom = start + warmupNanos;
			long end = measureFrom + measureNanos;
			List<Thread> threads = new ArrayList<>();
			List<Histogram> histograms = new ArrayList<>();
			long[] failures = new long[connections];
			for (int i = 0; i < connections; i++) {
				Histogram histogram = histogram();
				histograms.add(histogram);
				int client = i;
				Thread thread = new Thread(() -> {
					Connection connection = new Connection(url);
					for (long n = 0; System.nanoTime() < end; n++) {
						long sent = System.nanoTime();
						int code;
						try {
							code = connection.send(kind(mix, n * connections + client), n * connections + client, path);
						}
						catch (IOException | RuntimeException ex) {
							code = -1;
						}
						long done = System.nanoTime();
						if (sent >= measureFrom && done <= end) {
							record(histogram, (done - sent) / 1000);
							if (code < 200 || code > 299) {
								failures[client]++;
							}
						}
					}
					connection.close();
				}, "max-" + i);
				threads.add(thread);
				thread.start();
			}
			for (Thread thread : threads) {
				thread.join(TimeUnit.NANOSECONDS.toMillis(end - start) + 40_000);
			}
			Histogram all = histogram();
			histograms.forEach(all::add);
			long failed = Arrays.stream(failures).sum();
			System.out.printf(Locale.ROOT, "rps=%.0f requests=%d failed=%d p50_ms=%s p99_ms=%s max_ms=%s%n",
					all.getTotalCount() * 1e9 / measureNanos, all.getTotalCount(), failed,
					millis(all.getValueAtPercentile(50)), millis(all.getValueAtPercentile(99)), millis(all.getMaxValue()));
		}

	}

	/** The samples of one series against its events (before/after windows, switches, deploys, restarts). */
	static final class Analysis {

		record Sample(double sentMillis, int micros, char kind, int status) {

			boolean failed() {
				return this.status < 200 || this.status > 299;
			}

		}

		record Event(String type, double startMillis, double endMillis, String label) {

		}

		static void run(Options options) throws IOException {
			List<Sample> samples = new ArrayList<>();
			for (String line : Files.readAllLines(Path.of(options.get("samples")))) {
				String[] field = line.split(",");
				samples.add(new Sample(Double.parseDouble(field[0]), Integer.parseInt(field[1]), field[2].charAt(0),
						Integer.parseInt(field[3])));
			}
			samples.sort((a, b) -> Double.compare(a.sentMillis(), b.sentMillis()));
			List<Event> events = new ArrayList<>();
			for (String line : Files.readAllLines(Path.of(options.get("events")))) {
				String[] field = line.trim().split("\\s+", 4);
				if (field.length >= 3) {
					events.add(new Event(field[0], Double.parseDouble(field[1]), Double.parseDouble(field[2]),
							(field.length > 3) ? field[3] : ""));
				}
			}
			double grace = Double.parseDouble(options.get("grace-ms", "1000"));
			String prefix = options.get("out-prefix");
			double origin = samples.isEmpty() ? 0 : samples.get(0).sentMillis();
			report("total", samples, (sample) -> true);
			report("before", samples, (sample) -> inAny(sample, events, "before", 0));
			for (String type : List.of("switch", "deploy", "restart")) {
				if (events.stream().anyMatch((event) -> event.type().equals(type))) {
					report(type, samples, (sample) -> inAny(sample, events, type, grace));
				}
			}
			report("after", samples, (sample) -> inAny(sample, events, "after", 0));
			report("steady", samples, (sample) -> inAny(sample, events, "before", 0) || inAny(sample, events, "after", 0));
			int number = 0;
			for (Event event : events) {
				if (List.of("switch", "deploy", "restart").contains(event.type())) {
					number++;
					System.out.printf(Locale.ROOT, "event=%d type=%s label=%s start_s=%.1f duration_ms=%.0f ", number,
							event.type(), event.label().isEmpty() ? "-" : event.label(), (event.startMillis() - origin) / 1000,
							event.endMillis() - event.startMillis());
					report(null, samples, (sample) -> within(sample, event, grace));
				}
			}
			writeSeries(prefix, samples, origin, Integer.parseInt(options.get("bucket-ms", "250")));
			writeMarks(prefix, events, origin);
		}

		static boolean inAny(Sample sample, List<Event> events, String type, double grace) {
			for (Event event : events) {
				if (event.type().equals(type) && within(sample, event, grace)) {
					return true;
				}
			}
			return false;
		}

		static boolean within(Sample sample, Event event, double grace) {
			return sample.sentMillis() >= event.startMillis() && sample.sentMillis() < event.endMillis() + grace;
		}

		/** One line: window=NAME requests failed failed_io failed_5xx failed_post p50 p99 max (ms). */
		static void report(String window, List<Sample> samples, java.util.function.Predicate<Sample> filter) {
			Histogram histogram = histogram();
			long failed = 0;
			long io = 0;
			long server = 0;
			long posts = 0;
			for (Sample sample : samples) {
				if (!filter.test(sample)) {
					continue;
				}
				record(histogram, sample.micros());
				if (sample.failed()) {
					failed++;
					io += (sample.status() < 0) ? 1 : 0;
					server += (sample.status() >= 500) ? 1 : 0;
					posts += (sample.kind() == 'o') ? 1 : 0;
				}
			}
			boolean empty = histogram.getTotalCount() == 0;
			System.out.printf(Locale.ROOT, "%srequests=%d failed=%d failed_io=%d failed_5xx=%d failed_post=%d p50_ms=%s p99_ms=%s max_ms=%s%n",
					(window != null) ? "window=" + window + " " : "", histogram.getTotalCount(), failed, io, server, posts,
					empty ? "-" : millis(histogram.getValueAtPercentile(50)),
					empty ? "-" : millis(histogram.getValueAtPercentile(99)), empty ? "-" : millis(histogram.getMaxValue()));
		}

		/** PREFIX.dat: per bucket, seconds since the first request, p50, p99, max (ms), requests, failed. */
		static void writeSeries(String prefix, List<Sample> samples, double origin, int bucketMillis) {
			try (BufferedWriter writer = Files.newBufferedWriter(Path.of(prefix + ".dat"))) {
				writer.write("# t_s p50_ms p99_ms max_ms requests failed\n");
				int from = 0;
				while (from < samples.size()) {
					long bucket = (long) ((samples.get(from).sentMillis() - origin) / bucketMillis);
					int to = from;
					while (to < samples.size() && (long) ((samples.get(to).sentMillis() - origin) / bucketMillis) == bucket) {
						to++;
					}
					int[] latencies = new int[to - from];
					int failed = 0;
					for (int i = from; i < to; i++) {
						latencies[i - from] = samples.get(i).micros();
						failed += samples.get(i).failed() ? 1 : 0;
					}
					Arrays.sort(latencies);
					writer.write(String.format(Locale.ROOT, "%.3f %s %s %s %d %d%n", (bucket + 0.5) * bucketMillis / 1000.0,
							millis(percentile(latencies, 50)), millis(percentile(latencies, 99)),
							millis(latencies[latencies.length - 1]), latencies.length, failed));
					from = to;
				}
			}
			catch (IOException ex) {
				throw new UncheckedIOException(ex);
			}
		}

		static int percentile(int[] sorted, double percentile) {
			int index = (int) Math.ceil(percentile / 100.0 * sorted.length) - 1;
			return sorted[Math.max(0, index)];
		}

		/** PREFIX.marks: the moment of each switch (or a deploy's switch, or a restart), seconds since the first request. */
		static void writeMarks(String prefix, List<Event> events, double origin) {
			try (BufferedWriter writer = Files.newBufferedWriter(Path.of(prefix + ".marks"))) {
				writer.write("# t_s type\n");
				for (Event event : events) {
					if (List.of("switch", "mark", "restart").contains(event.type())) {
						writer.write(String.format(Locale.ROOT, "%.3f %s%n", (event.startMillis() - origin) / 1000.0,
								event.type()));
					}
				}
			}
			catch (IOException ex) {
				throw new UncheckedIOException(ex);
			}
		}

	}

}
