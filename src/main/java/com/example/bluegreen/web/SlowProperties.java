package com.example.bluegreen.web;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The bound of /api/slow ({@code app.slow.*}).
 *
 * @param max the longest request /api/slow serves; must stay below
 * spring.lifecycle.timeout-per-shutdown-phase (see "Shutdown timing" in application.yml)
 */
@ConfigurationProperties("app.slow")
record SlowProperties(Duration max) {
}
