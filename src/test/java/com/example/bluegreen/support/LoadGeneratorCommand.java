package com.example.bluegreen.support;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.HdrHistogram.Histogram;

/**
 * {@link LoadGenerator} from the command line, for scripts/bench.sh and scripts/demo.sh (scripts/loadgen.sh
 * compiles it with the JDK and runs it, HdrHistogram on the class path), and the benchmark's analysis.
 *
 * <pre>
 * rate    --url U --rate R --connections C [--out FILE] [--mix mixed|version|plain] [--stop-file F] [--max-seconds S]
 *         open loop: R requests/s in all, spread over C keep-alive connections, until F exists (default
 *         FILE.stop) or S seconds (default 900) passed. FILE: one CSV line per request (intended send time
 *         in epoch ms, latency in us from then, kind o|h|v, status or -1). Prints one summary line.
 * max     --url U --connections C --seconds S [--warmup S] [--mix version|mixed|plain] [--every-ms MS]
 *         closed loop, as fast as the server answers: throughput and latency at saturation; with
 *         --every-ms also one line per interval (requests sent before it and in it, p50, p99).
 * analyze --samples FILE --events FILE --out-prefix P [--grace-ms MS] [--bucket-ms MS]
 *         latency and failures before, during and after the events; P.dat (latency over time) and
 *         P.marks (event moments) for gnuplot.
 * </pre>
 */
public final class LoadGeneratorCommand {

	private static final long HIGHEST_MICROS = TimeUnit.MINUTES.toMicros(10);

	private LoadGeneratorCommand() {
	}

	public static void main(String[] args) throws Exception {
		if (args.length == 0) {
			throw new IllegalArgumentException("usage: LoadGeneratorCommand rate|max|analyze --option value ...");
		}
		Options options = Options.parse(Arrays.copyOfRange(args, 1, args.length));
		switch (args[0]) {
			case "rate" -> rate(options);
			case "max" -> max(options);
			case "analyze" -> Analysis.run(options);
			default -> throw new IllegalArgumentException("unknown command " + args[0]);
		}
	}

	/** Open loop at a fixed arrival rate until the stop file appears. */
	static void rate(Options options) throws Exception {
		URI url = URI.create(options.get("url"));
		double rate = Double.parseDouble(options.get("rate"));
		int connections = options.integer("connections", 32);
		String out = options.get("out", null);
		Path stopFile = Path.of(options.get("stop-file", (out != null) ? out + ".stop" : "loadgen.stop"));
		long maxNanos = TimeUnit.SECONDS.toNanos(options.integer("max-seconds", 900));
		long originNanos = System.nanoTime();
		long originEpochMicros = System.currentTimeMillis() * 1000;
		LoadGenerator load = new LoadGenerator(url.getHost(), url.getPort(), connections, true,
				Duration.ofNanos((long) (connections * 1e9 / rate)), mix(options, "mixed"));
		awaitFile(stopFile, System.nanoTime() + maxNanos);
		List<LoadGenerator.Sample> samples = load.stop().samples();
		if (out != null) {
			try (BufferedWriter writer = Files.newBufferedWriter(Path.of(out))) {
				for (LoadGenerator.Sample sample : samples) {
					long sentMicros = originEpochMicros + (sample.intendedNanos() - originNanos) / 1000;
					writer.write(String.format(Locale.ROOT, "%.3f,%d,%c,%d%n", sentMicros / 1000.0,
							Math.min(sample.latencyNanos() / 1000, Integer.MAX_VALUE), sample.kind().charAt(0),
							sample.status()));
				}
			}
		}
		Analysis.report(null, samples.stream().map(Analysis.Sample::of).toList(), (sample) -> true);
	}

	/** Until FILE exists (told by the file system, not polled) or the deadline passes. */
	private static void awaitFile(Path file, long deadlineNanos) throws IOException, InterruptedException {
		Path dir = file.toAbsolutePath().getParent();
		try (WatchService watch = dir.getFileSystem().newWatchService()) {
			dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
			while (!Files.exists(file)) {
				long left = deadlineNanos - System.nanoTime();
				if (left <= 0) {
					return;
				}
				WatchKey key = watch.poll(left, TimeUnit.NANOSECONDS);
				if (key != null) {
					key.pollEvents();
					key.reset();
				}
			}
		}
	}

	/** Closed loop: each connection sends its next request as soon as the previous one is answered. */
	static void max(Options options) throws Exception {
		URI url = URI.create(options.get("url"));
		int connections = options.integer("connections", 32);
		long warmupNanos = TimeUnit.SECONDS.toNanos(options.integer("warmup", 2));
		long measureNanos = TimeUnit.SECONDS.toNanos(options.integer("seconds", 10));
		LoadGenerator load = new LoadGenerator(url.getHost(), url.getPort(), connections, true, Duration.ZERO,
				mix(options, "version"));
		long measureFrom = load.startNanos() + warmupNanos;
		long end = measureFrom + measureNanos;
		TimeUnit.NANOSECONDS.sleep(end - System.nanoTime());
		Histogram all = histogram();
		long failed = 0;
		List<LoadGenerator.Sample> samples = load.stop().samples();
		for (LoadGenerator.Sample sample : samples) {
			if (sample.intendedNanos() >= measureFrom && sample.intendedNanos() + sample.latencyNanos() <= end) {
				record(all, sample.latencyNanos() / 1000);
				failed += sample.ok() ? 0 : 1;
			}
		}
		int every = options.integer("every-ms", 0);
		if (every > 0) {
			intervals(samples.stream().filter((sample) -> sample.intendedNanos() < end).toList(), measureFrom,
					TimeUnit.MILLISECONDS.toNanos(every));
		}
		System.out.printf(Locale.ROOT, "rps=%.0f requests=%d failed=%d p50_ms=%s p99_ms=%s max_ms=%s%n",
				all.getTotalCount() * 1e9 / measureNanos, all.getTotalCount(), failed,
				millis(all.getValueAtPercentile(50)), millis(all.getValueAtPercentile(99)), millis(all.getMaxValue()));
	}

	/**
	 * One line per interval of the run, by the time a request was sent: how many were sent before it and
	 * in it, and its latency (how fast a cold JVM gets fast: scripts/bench.sh's warm-up needs).
	 */
	private static void intervals(List<LoadGenerator.Sample> samples, long from, long everyNanos) {
		List<LoadGenerator.Sample> sorted = new ArrayList<>(samples);
		sorted.sort((a, b) -> Long.compare(a.intendedNanos(), b.intendedNanos()));
		long before = 0;
		int index = 0;
		while (index < sorted.size()) {
			long interval = Math.max(0, (sorted.get(index).intendedNanos() - from) / everyNanos);
			Histogram histogram = histogram();
			while (index < sorted.size() && Math.max(0, (sorted.get(index).intendedNanos() - from) / everyNanos) == interval) {
				record(histogram, sorted.get(index).latencyNanos() / 1000);
				index++;
			}
			System.out.printf(Locale.ROOT, "interval=%d end_s=%.1f sent_before=%d requests=%d p50_ms=%s p99_ms=%s%n",
					interval, (interval + 1) * everyNanos / 1e9, before, histogram.getTotalCount(),
					millis(histogram.getValueAtPercentile(50)), millis(histogram.getValueAtPercentile(99)));
			before += histogram.getTotalCount();
		}
	}

	private static LoadGenerator.Mix mix(Options options, String fallback) {
		return LoadGenerator.Mix.valueOf(options.get("mix", fallback).toUpperCase(Locale.ROOT));
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

	/** The samples of one series against its events (before/after windows, switches, deploys, restarts). */
	static final class Analysis {

		private Analysis() {
		}

		record Sample(double sentMillis, long micros, char kind, int status) {

			static Sample of(LoadGenerator.Sample sample) {
				return new Sample(0, sample.latencyNanos() / 1000, sample.kind().charAt(0), sample.status());
			}

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
				samples.add(new Sample(Double.parseDouble(field[0]), Long.parseLong(field[1]), field[2].charAt(0),
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
				if (List.of("switch", "deploy", "restart", "starting", "traffic").contains(event.type())) {
					number++;
					// starting (a new color's start to its first traffic) and traffic (its first seconds of
					// traffic) are exact windows, without the grace that follows a switch
					double after = List.of("starting", "traffic").contains(event.type()) ? 0 : grace;
					System.out.printf(Locale.ROOT, "event=%d type=%s label=%s start_s=%.1f duration_ms=%.0f ", number,
							event.type(), event.label().isEmpty() ? "-" : event.label(), (event.startMillis() - origin) / 1000,
							event.endMillis() - event.startMillis());
					report(null, samples, (sample) -> within(sample, event, after));
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

		/** One line: [window=NAME] requests failed failed_io failed_5xx failed_post p50 p99 max (ms). */
		static void report(String window, List<Sample> samples, Predicate<Sample> filter) {
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
					long[] latencies = new long[to - from];
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

		static long percentile(long[] sorted, double percentile) {
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
