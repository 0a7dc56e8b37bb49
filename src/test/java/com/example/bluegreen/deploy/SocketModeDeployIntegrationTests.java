package com.example.bluegreen.deploy;

import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.LoadGenerator;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The default switch: nginx's upstream is a unix-socket symlink, moved without reloading nginx. */
class SocketModeDeployIntegrationTests {

	@Test
	void threeDeploysUnderLoadFailNoRequestAndLoseNoSessionOrOrder() throws Exception {
		try (DeployHarness harness = DeployHarness.start("socket")) {
			DeploySeries series = new DeploySeries(harness);
			series.firstDeploy();
			LoadGenerator keepAlive = new LoadGenerator("127.0.0.1", harness.publicPort(), 32, true, DeploySeries.pace());

			series.run(3);

			LoadGenerator.Result load = keepAlive.stop();
			System.out.println(series.report("socket mode, 32 keep-alive clients", load));
			series.summaries().forEach((line) -> System.out.println("  " + line));
			assertThat(load.total()).isGreaterThan(1000);
			assertThat(load.failures()).as("failed requests:%s", load.describeFailures(20)).isEmpty();
			series.assertOrdersProcessed(load.acceptedOrders());
		}
	}

}
