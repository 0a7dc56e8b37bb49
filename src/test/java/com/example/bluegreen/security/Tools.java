package com.example.bluegreen.security;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The command-line tools these tests drive, and what no answer may give away. */
final class Tools {

	private Tools() {
	}

	/** The tool on the PATH (or in /usr/sbin, /sbin); fails saying which package installs it. */
	static Path require(String tool, String debianPackage) {
		return Stream.concat(Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)),
				Stream.of("/usr/sbin", "/sbin", "/usr/bin", "/bin"))
			.filter((dir) -> !dir.isEmpty())
			.map((dir) -> Path.of(dir, tool))
			.filter(Files::isExecutable)
			.findFirst()
			.orElseThrow(() -> new IllegalStateException(
					tool + " is not installed; these tests need it: apt-get install " + debianPackage));
	}

	/** No stack trace, exception name or server version in a response body. */
	static void assertRevealsNoInternals(String body) {
		assertThat(body).as("response body")
			.doesNotContain("Exception", "\tat ", "Caused by", "org.springframework", "org.apache", "Tomcat/",
					"nginx/");
	}

}
