package com.example.bluegreen.hosts;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import com.example.bluegreen.support.BootedHosts;
import com.example.bluegreen.support.BootedHosts.Host;
import com.example.bluegreen.support.BootedHosts.Snapshot;
import com.example.bluegreen.support.ScriptProcess;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The booted-host harness: two Debian 12 hosts with systemd as PID 1, each in its own network namespace,
 * over SSH; the machine's Redis and RabbitMQ through the harness's relays; a reboot; offline installs from
 * the seeded apt cache; a snapshot; and nothing left behind. Needs root (see BootedHosts).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BootedHostHarnessIntegrationTests {

	private BootedHosts hosts;

	private Host one;

	private Host two;

	@BeforeAll
	void bootTwoHosts() {
		this.hosts = BootedHosts.open();
		long started = System.nanoTime();
		this.hosts.image();
		System.out.printf("booted hosts: base image ready in %d ms%n", (System.nanoTime() - started) / 1_000_000);
		var booted = this.hosts.startAll("one", "two");
		this.one = booted.get(0);
		this.two = booted.get(1);
		for (Host host : booted) {
			System.out.printf("booted hosts: %s sshd after %s, running after %s (two hosts booting at once)%n", host,
					host.sshdAfter(), host.runningAfter());
		}
	}

	@AfterAll
	void cleanUp() {
		if (this.hosts != null) {
			this.hosts.close();
		}
	}

	@Test
	@Order(1)
	void eachHostRunsSystemdAndHasAnAddressOfItsOwn() {
		for (Host host : new Host[] { this.one, this.two }) {
			assertThat(host.run("systemctl is-system-running")).isEqualTo("running");
			assertThat(host.run("cat /proc/1/comm")).isEqualTo("systemd");
			assertThat(host.run("hostname")).isEqualTo(host.name());
			assertThat(host.run("cat /proc/net/fib_trie")).contains(host.address());
		}
		String subnet = this.hosts.environment().get("GATEWAY").replaceAll("\\.1$", ".");
		assertThat(this.one.address()).startsWith(subnet).isNotEqualTo(this.two.address());
		assertThat(this.two.address()).startsWith(subnet);
		// The hosts reach each other (a fleet's load balancer reaches its app hosts) and have no route out.
		assertThat(this.one.run(tcpProbe(this.two.address(), 22, "true"))).startsWith("SSH-2.0-");
		assertThat(this.one.run("awk 'NR > 1 && $2 == \"00000000\"' /proc/net/route")).isEmpty();
		System.out.printf("booted hosts: %s uses %d KiB idle, %s %d KiB (PSS of their processes)%n", this.one,
				this.one.memoryKib(), this.two, this.two.memoryKib());
	}

	@Test
	@Order(2)
	void aHostReachesTheMachinesRedisAndRabbitMq() throws Exception {
		Map<String, String> env = this.hosts.environment();
		String redis = env.get("REDIS_HOST");
		assertThat(this.one.run(tcpProbe(redis, Integer.parseInt(env.get("REDIS_PORT")), "printf 'PING\\r\\n'")))
			.isEqualTo("+PONG");
		// The AMQP protocol header is answered with Connection.Start, which names the server.
		assertThat(this.one.run(tcpProbe(env.get("RABBITMQ_HOST"), Integer.parseInt(env.get("RABBITMQ_PORT")),
				"printf 'AMQP\\0\\0\\11\\1'")))
			.contains("RabbitMQ", "PLAIN");
		// The run's RabbitMQ user logs in through the same address (guest may log in from loopback only).
		ConnectionFactory factory = new ConnectionFactory();
		factory.setHost(env.get("RABBITMQ_HOST"));
		factory.setPort(Integer.parseInt(env.get("RABBITMQ_PORT")));
		factory.setUsername(env.get("RABBITMQ_USERNAME"));
		factory.setPassword(env.get("RABBITMQ_PASSWORD"));
		factory.setVirtualHost(env.get("RABBITMQ_VHOST"));
		try (Connection connection = factory.newConnection("booted-hosts")) {
			assertThat(connection.isOpen()).isTrue();
		}
		// Only in the run's virtual host: the queues of the apps tests run on the machine stay theirs.
		factory.setVirtualHost("/");
		assertThatThrownBy(() -> factory.newConnection("booted-hosts").close()).isInstanceOf(IOException.class);
		assertThat(env.get("REDIS_DATABASE")).isNotEqualTo("0");
	}

	@Test
	@Order(3)
	void aFileWrittenBeforeARebootIsStillThereAfterIt() {
		String token = UUID.randomUUID().toString();
		this.one.run("echo " + token + " > /root/before-reboot && echo gone > /run/before-reboot && sync");

		this.one.reboot();

		assertThat(this.one.run("cat /root/before-reboot")).isEqualTo(token);
		// /run is a tmpfs of the boot: the host really booted again.
		assertThat(this.one.run("test -e /run/before-reboot && echo kept || echo cleared")).isEqualTo("cleared");
		assertThat(this.one.run("systemctl is-system-running")).isEqualTo("running");
	}

	@Test
	@Order(4)
	void seededPackagesInstallWithoutANetworkAndSnapshotsCarryThem() {
		assertThat(this.two.ssh("command -v jq").exitCode()).isNotZero();

		this.two.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-download jq");
		assertThat(this.two.run("echo '{\"a\": 1}' | jq .a")).isEqualTo("1");

		Snapshot withJq = this.hosts.snapshot(this.two, "with-jq");
		Host three = this.hosts.start("three", withJq);
		assertThat(three.run("jq --version")).startsWith("jq-");
		assertThat(three.address()).isNotIn(this.one.address(), this.two.address());
		assertThat(three.run("cat /etc/machine-id")).isNotEqualTo(this.two.run("cat /etc/machine-id"));
		assertThat(this.two.run("systemctl is-system-running")).isEqualTo("running");
		three.remove();
	}

	@Test
	@Order(5)
	void removingAllLeavesNothingBehind() {
		this.hosts.removeAll();

		assertThat(command("ip", "netns", "list")).doesNotContain("bgh-");
		assertThat(command("ip", "-o", "link", "show")).doesNotContain("bgh");
		assertThat(command("ip", "-o", "addr", "show")).doesNotContain("10.213.77.");
		assertThat(command("ps", "-eo", "args")).doesNotContain("systemd-nspawn", "hosts.sh _supervise",
				"bind=10.213.77.1");
		assertThat(Path.of("/var/lib/bluegreen-test-hosts")).doesNotExist();
		assertThat(Path.of("/run/bluegreen-test-hosts")).doesNotExist();
		assertThat(command("rabbitmqctl", "-q", "list_users")).doesNotContain("booted-hosts");
		assertThat(command("rabbitmqctl", "-q", "list_vhosts")).doesNotContain("booted-hosts");
	}

	/** A bash line that connects to HOST:PORT, sends REQUEST's output, and prints the printable part of the answer. */
	private static String tcpProbe(String host, int port, String request) {
		return "exec 3<>/dev/tcp/" + host + "/" + port + " && " + request
				+ " >&3 && timeout 5 dd bs=65536 count=1 status=none <&3 | tr -cd '[:print:]'";
	}

	private static String command(String... args) {
		ScriptProcess.Result result = ScriptProcess.start(Path.of("/usr/bin/env"), Map.of(), args)
			.waitFor(Duration.ofMinutes(1));
		assertThat(result.exitCode()).as(result.toString()).isZero();
		return result.stdout();
	}

}
