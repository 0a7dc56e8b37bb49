package com.example.bluegreen.support;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.rabbitmq.RabbitMQContainer;

/**
 * Makes sure the tests talk to a real Redis and a real RabbitMQ: the ones configured by the standard
 * Spring variables (default localhost), or containers started by Testcontainers when those are not
 * running and a Docker engine is. With neither, the tests fail and say how to start the services.
 */
public final class BackingServices {

	private static boolean ready;

	private BackingServices() {
	}

	public static synchronized void ensureRunning() {
		if (ready) {
			return;
		}
		Service redis = new Service("Redis", "spring.data.redis", "SPRING_DATA_REDIS", 6379,
				"redis-server --daemonize yes --save '' --appendonly no", "redis");
		Service rabbit = new Service("RabbitMQ", "spring.rabbitmq", "SPRING_RABBITMQ", 5672,
				"rabbitmq-server -detached", "rabbitmq");
		boolean docker = !redis.reachable() || !rabbit.reachable() ? dockerAvailable() : false;
		if (!redis.reachable()) {
			redis.requireDocker(docker);
			GenericContainer<?> container = new GenericContainer<>("redis:7-alpine").withExposedPorts(6379);
			container.start();
			redis.use(container.getHost(), container.getMappedPort(6379));
		}
		if (!rabbit.reachable()) {
			rabbit.requireDocker(docker);
			RabbitMQContainer container = new RabbitMQContainer("rabbitmq:4-management-alpine");
			container.start();
			rabbit.use(container.getHost(), container.getAmqpPort());
		}
		ready = true;
	}

	private static boolean dockerAvailable() {
		try {
			return DockerClientFactory.instance().isDockerAvailable();
		}
		catch (RuntimeException ex) {
			return false;
		}
	}

	private record Service(String name, String prefix, String envPrefix, int defaultPort, String startCommand,
			String composeService) {

		String host() {
			return setting("host", "localhost");
		}

		int port() {
			return Integer.parseInt(setting("port", Integer.toString(this.defaultPort)));
		}

		private String setting(String key, String fallback) {
			String value = System.getProperty(this.prefix + "." + key);
			if (value == null) {
				value = System.getenv(this.envPrefix + "_" + key.toUpperCase());
			}
			return (value != null) ? value : fallback;
		}

		boolean reachable() {
			try (Socket socket = new Socket()) {
				socket.connect(new InetSocketAddress(host(), port()), 1000);
				return true;
			}
			catch (IOException ex) {
				return false;
			}
		}

		void requireDocker(boolean docker) {
			if (!docker) {
				throw new IllegalStateException(this.name + " is not reachable at " + host() + ":" + port()
						+ " and no Docker engine is available for Testcontainers. Start it with '"
						+ this.startCommand + "' or 'docker compose up -d " + this.composeService + "', or point "
						+ this.envPrefix + "_HOST/_PORT at a running one.");
			}
		}

		void use(String host, int port) {
			System.setProperty(this.prefix + ".host", host);
			System.setProperty(this.prefix + ".port", Integer.toString(port));
		}

	}

}
