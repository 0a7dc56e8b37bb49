package com.example.bluegreen.system;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The app's own settings ({@code app.*} in application.yml).
 *
 * @param color blue or green, set by the profile
 * @param deployId set by the deploy (APP_DEPLOY_ID), echoed by /api/version and /actuator/info
 * @param socket the optional unix domain socket that nginx's socket-mode upstream connects to
 * @param slow the bound of /api/slow
 * @param orders order publishing and processing
 * @param jobs scheduled jobs
 */
@ConfigurationProperties("app")
public record AppProperties(String color, String deployId, Socket socket, Slow slow, Orders orders, Jobs jobs) {

	public record Socket(String path, String permissions, int backlog) {
	}

	public record Slow(Duration max) {
	}

	public record Orders(Duration processedTtl, Duration confirmTimeout, Duration listenerShutdownTimeout) {
	}

	public record Jobs(Heartbeat heartbeat) {
	}

	public record Heartbeat(Duration interval, Duration lockAtLeastFor) {
	}

}
