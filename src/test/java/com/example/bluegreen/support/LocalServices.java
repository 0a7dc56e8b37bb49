package com.example.bluegreen.support;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;

import static org.awaitility.Awaitility.await;

/**
 * Stops and starts the local Redis and RabbitMQ for the fault tests, the way an operator would, and puts
 * them back as they were. These tests need the servers on this machine (not a container or a remote host).
 */
public final class LocalServices {

	private LocalServices() {
	}

	public static void rabbitmqctl(String... args) {
		Path tool = executable("rabbitmqctl", "/usr/sbin/rabbitmqctl", "/usr/lib/rabbitmq/bin/rabbitmqctl");
		ScriptProcess.Result result = ScriptProcess.start(tool, Map.of(), args).waitFor(Duration.ofMinutes(2));
		if (result.exitCode() != 0) {
			throw new IllegalStateException("rabbitmqctl " + String.join(" ", args) + " failed: " + result);
		}
	}

	/** Queue counters: name, messages ready, messages unacknowledged. */
	public static String queues() {
		Path tool = executable("rabbitmqctl", "/usr/sbin/rabbitmqctl", "/usr/lib/rabbitmq/bin/rabbitmqctl");
		return ScriptProcess.start(tool, Map.of(), "-q", "list_queues", "name", "messages_ready", "messages_unacknowledged")
			.waitFor(Duration.ofMinutes(1))
			.stdout();
	}

	public static int unacknowledged(String queue) {
		return queues().lines()
			.map((line) -> line.trim().split("\\s+"))
			.filter((columns) -> columns.length == 3 && columns[0].equals(queue))
			.mapToInt((columns) -> Integer.parseInt(columns[2]))
			.findFirst()
			.orElse(0);
	}

	public static void startRabbitApp() {
		rabbitmqctl("start_app");
		awaitPort(5672, Duration.ofSeconds(60));
	}

	/** A connection to the local Redis for admin commands. */
	public static StatefulRedisConnection<String, String> redis() {
		return RedisClient.create("redis://127.0.0.1:6379").connect();
	}

	/** Pauses the local Redis's write commands (reads go on), as a slow or stuck Redis would. */
	public static void pauseRedisWrites(StatefulRedisConnection<String, String> redis, Duration duration) {
		redis.sync()
			.dispatch(CommandType.CLIENT, new StatusOutput<>(StringCodec.UTF8),
					new CommandArgs<>(StringCodec.UTF8).add("PAUSE").add(duration.toMillis()).add("WRITE"));
	}

	public static void unpauseRedis(StatefulRedisConnection<String, String> redis) {
		redis.sync()
			.dispatch(CommandType.CLIENT, new StatusOutput<>(StringCodec.UTF8),
					new CommandArgs<>(StringCodec.UTF8).add("UNPAUSE"));
	}

	/** The command that starts the local Redis again as it runs now (port, bind, dir, no persistence). */
	public static List<String> redisStartCommand(StatefulRedisConnection<String, String> redis) {
		Map<String, String> config = redis.sync().configGet("port", "bind", "dir");
		Path server = executable("redis-server", "/usr/bin/redis-server", "/usr/local/bin/redis-server");
		return Stream.concat(Stream.of(server.toString(), "--daemonize", "yes", "--port", config.get("port"), "--dir",
				config.get("dir"), "--save", "", "--appendonly", "no", "--bind"), Stream.of(config.get("bind").split(" ")))
			.toList();
	}

	public static void startRedis(List<String> command) {
		if (!portOpen(6379)) {
			try {
				new ProcessBuilder(command).inheritIO().start().waitFor();
			}
			catch (IOException ex) {
				throw new IllegalStateException("Cannot start Redis with " + command, ex);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
		awaitPort(6379, Duration.ofSeconds(30));
	}

	public static boolean portOpen(int port) {
		try (Socket socket = new Socket()) {
			socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
			return true;
		}
		catch (IOException ex) {
			return false;
		}
	}

	private static void awaitPort(int port, Duration timeout) {
		await().atMost(timeout).pollInterval(Duration.ofMillis(200)).until(() -> portOpen(port));
	}

	private static Path executable(String name, String... candidates) {
		return Stream.of(candidates)
			.map(Path::of)
			.filter(Files::isExecutable)
			.findFirst()
			.orElseThrow(() -> new IllegalStateException(name + " is not installed here: these fault tests stop and "
					+ "start the local server (apt-get install redis-server rabbitmq-server)"));
	}

}
