package com.example.bluegreen.deploy;

import java.util.stream.Stream;

import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.LoadGenerator;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The classic switch for any Boot jar: active.conf names the color, nginx is reloaded. Clients that open
 * a connection per request see no failure; keep-alive clients lose one request per busy connection per
 * reload (nginx before 1.27.4 closes them), which is counted and printed, not hidden with retries.
 */
class ReloadModeDeployIntegrationTests {

	@Test
	void threeDeploysUnderLoadFailNoRequestOfNewConnectionClients() throws Exception {
		try (DeployHarness harness = DeployHarness.start("reload")) {
			DeploySeries series = new DeploySeries(harness);
			series.firstDeploy();
			LoadGenerator perRequest = new LoadGenerator("127.0.0.1", harness.publicPort(), 16, false, DeploySeries.pace());
			LoadGenerator keepAlive = new LoadGenerator("127.0.0.1", harness.publicPort(), 16, true, DeploySeries.pace());

			series.run(3);

			LoadGenerator.Result fresh = perRequest.stop();
			LoadGenerator.Result reused = keepAlive.stop();
			System.out.println(series.report("reload mode, 16 new-connection clients", fresh));
			System.out.println(series.report("reload mode, 16 keep-alive clients", reused));
			series.summaries().forEach((line) -> System.out.println("  " + line));
			assertThat(fresh.total()).isGreaterThan(500);
			assertThat(fresh.failures()).as("failed requests:%s", fresh.describeFailures(20)).isEmpty();
			assertThat(reused.failures()).as("keep-alive failures are I/O errors from reloads, never HTTP errors")
				.allSatisfy((failure) -> assertThat(failure.status()).isEqualTo(-1));
			series.assertOrdersProcessed(Stream.concat(fresh.acceptedOrders().stream(), reused.acceptedOrders().stream()).toList());
		}
	}

}
