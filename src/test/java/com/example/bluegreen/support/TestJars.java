package com.example.bluegreen.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.zip.ZipFile;

/**
 * The real builds the deploy tests deploy: target/app.jar (this build), a second build of the same sources
 * with another version, made once with the Maven wrapper into target/it-next, and apps that are not this
 * template's (src/test/apps).
 */
public final class TestJars {

	private static final Path PROJECT = Path.of("").toAbsolutePath();

	private TestJars() {
	}

	public static Path current() {
		Path jar = PROJECT.resolve("target/app.jar");
		if (!Files.isRegularFile(jar)) {
			throw new IllegalStateException(jar + " is missing: run the deploy tests with ./mvnw verify (after package)");
		}
		return jar;
	}

	public static synchronized Path next() {
		Path current = current();
		Path jar = PROJECT.resolve("target/it-next/app.jar");
		try {
			if (Files.isRegularFile(jar) && Files.getLastModifiedTime(jar).compareTo(Files.getLastModifiedTime(current)) >= 0
					&& version(jar).equals(nextVersion())) {
				return jar;
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		ScriptProcess.Result build = ScriptProcess
			.start(PROJECT.resolve("mvnw"), Map.of(), "-o", "-q", "-B", "package", "-DskipTests",
					"-Drevision=" + nextVersion(), "-Dapp.build.directory=" + PROJECT.resolve("target/it-next"))
			.waitFor(Duration.ofMinutes(5));
		if (build.exitCode() != 0 || !Files.isRegularFile(jar)) {
			throw new IllegalStateException("Building the second version failed: " + build);
		}
		return jar;
	}

	/**
	 * The plain app of src/test/apps/plain (web MVC and actuator, nothing of this template) built with Spring
	 * Boot {@code boot} (3 or 4), once per run, into target/plain/boot{boot}/plain-boot{boot}.jar.
	 */
	public static synchronized Path plain(int boot) {
		Path directory = PROJECT.resolve("target/plain/boot" + boot);
		Path jar = directory.resolve("plain-boot" + boot + ".jar");
		if (Files.isRegularFile(jar)) {
			return jar;
		}
		// Not offline: a first build fetches the other Boot version's dependencies.
		ScriptProcess.Result build = ScriptProcess
			.start(PROJECT.resolve("mvnw"), Map.of(), "-q", "-B", "package", "-DskipTests",
					"-f", PROJECT.resolve("src/test/apps/plain/boot" + boot + ".xml").toString(),
					"-Dplain.build.directory=" + directory)
			.waitFor(Duration.ofMinutes(5));
		if (build.exitCode() != 0 || !Files.isRegularFile(jar)) {
			throw new IllegalStateException("Building the plain Boot " + boot + " app failed: " + build);
		}
		return jar;
	}

	public static String nextVersion() {
		return version(current()) + "-next";
	}

	/** The version in the jar's build-info, as the app reports it in X-App-Version. */
	public static String version(Path jar) {
		try (ZipFile zip = new ZipFile(jar.toFile())) {
			Properties properties = new Properties();
			properties.load(zip.getInputStream(zip.getEntry("META-INF/build-info.properties")));
			return properties.getProperty("build.version");
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
