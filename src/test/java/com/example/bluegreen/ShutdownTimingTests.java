package com.example.bluegreen;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.example.bluegreen.support.ScriptLibrary;
import org.junit.jupiter.api.Test;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ClassPathResource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shutdown waits add up ("Shutdown timing" in application.yml): the longest request fits Tomcat's
 * graceful shutdown phase, and the listener's, Tomcat's and the scheduler's waits, which run one after
 * another, end before the deploy scripts SIGKILL the color (STOP_TIMEOUT).
 */
class ShutdownTimingTests {

	@Test
	void applicationYmlFollowsTheShutdownTimingRule() throws IOException {
		Binder yml = applicationYml();
		assertThat(yml.bind("spring.task.scheduling.shutdown.await-termination", Boolean.class).get())
			.as("the rule counts on the scheduler awaiting its running job while the beans are destroyed")
			.isTrue();
		ShutdownTiming timing = new ShutdownTiming(duration(yml, "app.slow.max"),
				duration(yml, "app.orders.listener-shutdown-timeout"),
				duration(yml, "spring.lifecycle.timeout-per-shutdown-phase"),
				duration(yml, "spring.task.scheduling.shutdown.await-termination-period"));

		assertThat(timing.violations(stopTimeoutDefault())).as("%s", timing).isEmpty();
	}

	@Test
	void ruleRefusesARequestLongerThanThePhaseAndWaitsThatAddUpPastStopTimeout() {
		ShutdownTiming longRequest = new ShutdownTiming(Duration.ofSeconds(31), Duration.ofSeconds(10),
				Duration.ofSeconds(30), Duration.ofSeconds(10));
		ShutdownTiming tooLong = new ShutdownTiming(Duration.ofSeconds(25), Duration.ofSeconds(20),
				Duration.ofSeconds(30), Duration.ofSeconds(20));

		assertThat(longRequest.violations(Duration.ofSeconds(60))).singleElement()
			.asString()
			.startsWith("app.slow.max");
		assertThat(tooLong.violations(Duration.ofSeconds(60))).singleElement().asString().contains("STOP_TIMEOUT");
	}

	/**
	 * The deploy scripts' default STOP_TIMEOUT (seconds between SIGTERM and SIGKILL). The only place that
	 * knows where the scripts keep it: today the line {@code : "${STOP_TIMEOUT:=60}"} in scripts/lib/common.sh.
	 */
	/** The scripts' STOP_TIMEOUT default, from the one settings list (scripts/lib/settings.tsv). */
	private static Duration stopTimeoutDefault() {
		return Duration.ofSeconds(Long.parseLong(ScriptLibrary.call("echo \"${STOP_TIMEOUT}\"")));
	}

	/** application.yml alone: no profile, environment or system property can change what is checked. */
	private static Binder applicationYml() throws IOException {
		List<PropertySource<?>> sources = new YamlPropertySourceLoader().load("application.yml",
				new ClassPathResource("application.yml"));
		return new Binder(ConfigurationPropertySources.from(sources));
	}

	private static Duration duration(Binder binder, String name) {
		return binder.bind(name, Duration.class).orElseThrow(() -> new AssertionError(name + " is not set"));
	}

	/**
	 * The waits of a shutdown, in the order they happen after SIGTERM.
	 *
	 * @param slowMax the longest request the app serves (app.slow.max)
	 * @param listener the RabbitMQ listener's wait, lifecycle phase Integer.MAX_VALUE
	 * @param phase Tomcat's graceful shutdown, lifecycle phase Integer.MAX_VALUE - 1024
	 * @param scheduler the scheduler's await-termination, when the beans are destroyed after all phases
	 */
	record ShutdownTiming(Duration slowMax, Duration listener, Duration phase, Duration scheduler) {

		/** Tomcat's stop, closing the Redis and RabbitMQ connections, the JVM's exit. */
		static final Duration MARGIN = Duration.ofSeconds(10);

		List<String> violations(Duration stopTimeout) {
			List<String> violations = new ArrayList<>();
			if (this.slowMax.compareTo(this.phase) >= 0) {
				violations.add("app.slow.max " + this.slowMax + " is not below timeout-per-shutdown-phase "
						+ this.phase + ": the longest request would be cut");
			}
			if (this.listener.compareTo(this.phase) >= 0) {
				violations.add("listener-shutdown-timeout " + this.listener
						+ " is not below timeout-per-shutdown-phase " + this.phase + ": the phase gives up first");
			}
			Duration total = this.listener.plus(this.phase).plus(this.scheduler).plus(MARGIN);
			if (total.compareTo(stopTimeout) > 0) {
				violations.add("listener " + this.listener + " + phase " + this.phase + " + scheduler "
						+ this.scheduler + " + margin " + MARGIN + " = " + total + " is more than STOP_TIMEOUT "
						+ stopTimeout + ": the color would be SIGKILLed while it still shuts down");
			}
			return violations;
		}

	}

}
