package com.example.bluegreen.delivery;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Dockerfile's extract stage without Docker: the same command on the real jar gives the layers the
 * runtime stage copies, in the jar's own layer order, with the launcher its ENTRYPOINT starts.
 */
class ImageLayersIntegrationTests {

	private static final Path REPOSITORY = Path.of("").toAbsolutePath();

	@Test
	void extractedJarHasTheLayersTheDockerfileCopiesAndTheLauncherItStarts(@TempDir Path work) throws Exception {
		Path jar = Files.copy(buildDirectory().resolve("app.jar"), work.resolve("app.jar"));

		String extract = java(work, "-Djarmode=tools", "-jar", "app.jar", "extract", "--layers", "--launcher",
				"--destination", "extracted");
		List<String> layers = java(work, "-Djarmode=tools", "-jar", jar.toString(), "list-layers").lines()
			.map(String::strip)
			.filter((line) -> !line.isEmpty())
			.toList();

		assertThat(extract).doesNotContainIgnoringCase("error");
		assertThat(layers).containsExactly("dependencies", "spring-boot-loader", "snapshot-dependencies", "application");
		List<String> copies = Files.readAllLines(REPOSITORY.resolve("Dockerfile")).stream()
			.filter((line) -> line.startsWith("COPY --from=extract /extract/extracted/"))
			.map((line) -> line.replaceAll("COPY --from=extract /extract/extracted/([^/]+)/ \\./", "$1"))
			.toList();
		assertThat(copies).isEqualTo(layers);
		for (String layer : layers) {
			assertThat(work.resolve("extracted").resolve(layer)).isDirectory();
		}
		assertThat(work.resolve("extracted/spring-boot-loader/org/springframework/boot/loader/launch/JarLauncher.class"))
			.isRegularFile();
		assertThat(work.resolve("extracted/application/BOOT-INF/classes/application.yml")).isRegularFile();
		assertThat(Files.readString(REPOSITORY.resolve("Dockerfile")))
			.contains("ENTRYPOINT [\"java\", \"org.springframework.boot.loader.launch.JarLauncher\"]");
	}

	private static String java(Path directory, String... args) throws IOException, InterruptedException {
		List<String> command = new java.util.ArrayList<>();
		command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
		command.addAll(List.of(args));
		Process process = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
		process.getOutputStream().close();
		String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		assertThat(process.waitFor(2, TimeUnit.MINUTES)).isTrue();
		assertThat(process.exitValue()).as("%s: %s", command, output).isZero();
		return output;
	}

	private static Path buildDirectory() throws URISyntaxException {
		return Path.of(ImageLayersIntegrationTests.class.getProtectionDomain().getCodeSource().getLocation().toURI())
			.getParent();
	}

}
