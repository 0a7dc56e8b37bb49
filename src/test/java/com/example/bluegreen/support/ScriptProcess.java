package com.example.bluegreen.support;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;

/** A script of scripts/ running as a real process: its output lines with the time each one came. */
public final class ScriptProcess {

	private final String command;

	private final Process process;

	private final List<Line> lines = Collections.synchronizedList(new ArrayList<>());

	private final StringBuffer stderr = new StringBuffer();

	private final List<Thread> readers = new ArrayList<>();

	private ScriptProcess(String command, Process process) {
		this.command = command;
		this.process = process;
		this.readers.add(read(process.getInputStream(), false));
		this.readers.add(read(process.getErrorStream(), true));
	}

	public static ScriptProcess start(Path script, Map<String, String> env, String... args) {
		List<String> command = new ArrayList<>();
		command.add(script.toString());
		command.addAll(List.of(args));
		ProcessBuilder builder = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
		builder.environment().putAll(env);
		try {
			return new ScriptProcess(String.join(" ", command), builder.start());
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot run " + command, ex);
		}
	}

	private Thread read(InputStream stream, boolean isStderr) {
		Thread thread = new Thread(() -> {
			try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
				for (String line = reader.readLine(); line != null; line = reader.readLine()) {
					this.lines.add(new Line(System.nanoTime(), line, isStderr));
					if (isStderr) {
						this.stderr.append(line).append('\n');
					}
				}
			}
			catch (IOException ex) {
				// the process ended
			}
		}, "script-output");
		thread.setDaemon(true);
		thread.start();
		return thread;
	}

	/** Waits for a line matching the regex (searched anywhere in the line) and returns it. */
	public Line awaitLine(String regex, Duration timeout) {
		Pattern pattern = Pattern.compile(regex);
		await().atMost(timeout)
			.pollInterval(Duration.ofMillis(50))
			.failFast(() -> !this.process.isAlive() && find(pattern) == null)
			.until(() -> find(pattern) != null);
		return find(pattern);
	}

	private Line find(Pattern pattern) {
		synchronized (this.lines) {
			return this.lines.stream().filter((line) -> pattern.matcher(line.text()).find()).findFirst().orElse(null);
		}
	}

	/**
	 * Waits for the script to exit and returns what it did. After the timeout it is killed with the
	 * processes it still parents (a color it is starting, an ssh client), so a hung run does not leave
	 * them to the next test.
	 */
	public Result waitFor(Duration timeout) {
		try {
			if (!this.process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
				List<ProcessHandle> started = this.process.descendants().toList();
				this.process.destroyForcibly();
				started.forEach(ProcessHandle::destroyForcibly);
				throw new IllegalStateException(this.command + " did not finish within " + timeout + ":\n" + output());
			}
			for (Thread reader : this.readers) {
				reader.join(5000);
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
		return new Result(this.command, this.process.exitValue(), List.copyOf(this.lines), this.stderr.toString(),
				System.nanoTime());
	}

	public long pid() {
		return this.process.pid();
	}

	public boolean isAlive() {
		return this.process.isAlive();
	}

	private String output() {
		synchronized (this.lines) {
			return String.join("\n", this.lines.stream().map(Line::text).toList());
		}
	}

	public record Line(long atNanos, String text, boolean stderr) {
	}

	public record Result(String command, int exitCode, List<Line> lines, String stderr, long endedNanos) {

		public String output() {
			return String.join("\n", this.lines.stream().map(Line::text).toList());
		}

		public String stdout() {
			return String.join("\n", this.lines.stream().filter((line) -> !line.stderr()).map(Line::text).toList());
		}

		/** When the first line matching the regex came, or the end when none did. */
		public long timeOf(String regex) {
			Pattern pattern = Pattern.compile(regex);
			return this.lines.stream()
				.filter((line) -> pattern.matcher(line.text()).find())
				.mapToLong(Line::atNanos)
				.findFirst()
				.orElse(this.endedNanos);
		}

		/** The error lines the script wrote (warnings excluded). */
		public List<String> errorLines() {
			return this.stderr.lines().filter((line) -> line.contains(": error: ")).toList();
		}

		@Override
		public String toString() {
			return this.command + " exited " + this.exitCode + ":\n" + output();
		}

	}

}
