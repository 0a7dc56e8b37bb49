package com.example.bluegreen.support;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

import com.example.bluegreen.BlueGreenApplication;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/** One color of the app, started in this JVM on a random port with the "it" profile; close() stops it. */
public final class RunningApp implements AutoCloseable {

	private final ConfigurableApplicationContext context;

	private RunningApp(ConfigurableApplicationContext context) {
		this.context = context;
	}

	public static RunningApp start(String color, String... properties) {
		BackingServices.ensureRunning();
		List<String> args = new ArrayList<>();
		for (String property : properties) {
			args.add("--" + property);
		}
		ConfigurableApplicationContext context = new SpringApplicationBuilder(BlueGreenApplication.class)
			.profiles(color, "it")
			.run(args.toArray(String[]::new));
		return new RunningApp(context);
	}

	public int port() {
		return Integer.parseInt(this.context.getEnvironment().getRequiredProperty("local.server.port"));
	}

	public URI uri(String path) {
		return URI.create("http://127.0.0.1:" + port() + path);
	}

	public ConfigurableApplicationContext context() {
		return this.context;
	}

	public <T> T bean(Class<T> type) {
		return this.context.getBean(type);
	}

	@Override
	public void close() {
		this.context.close();
	}

}
