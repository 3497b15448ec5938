package datashark.tests.elasticsearch;

import java.util.List;
import java.util.regex.Pattern;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.miscellaneous.RemoveDuplicatesTokenFilter;
import org.apache.lucene.analysis.pattern.PatternCaptureGroupTokenFilter;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
import org.elasticsearch.plugin.analysis.TokenizerFactory;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;
import org.elasticsearch.plugin.settings.ListSetting;

/**
 * The analysis components Elasticsearch's own security index asks for, as a stable plugin.
 *
 * <p>The index that holds API keys (.security-7) analyses e-mail addresses with the tokenizer
 * uax_url_email and the filters pattern_capture and unique. They live in the analysis-common
 * module, which the integ-test distribution lacks and Maven Central does not carry, so without
 * them the index cannot be created and no API key can be made. These are the same Lucene
 * classes analysis-common wraps (unique keeps a token once per position, not once per field:
 * the test node never searches those fields).
 */
public final class EmailAnalysis {
    private EmailAnalysis() {}

    @NamedComponent("uax_url_email")
    public static final class UrlEmailTokenizer implements TokenizerFactory {
        @Override
        public Tokenizer create() {
            return new UAX29URLEmailTokenizer();
        }
    }

    @AnalysisSettings
    public interface PatternCaptureSettings {
        @ListSetting(path = "patterns")
        List<String> patterns();

        @BooleanSetting(path = "preserve_original", defaultValue = true)
        boolean preserveOriginal();
    }

    @NamedComponent("pattern_capture")
    public static final class PatternCapture implements TokenFilterFactory {
        private final boolean preserveOriginal;
        private final Pattern[] patterns;

        @Inject
        public PatternCapture(PatternCaptureSettings settings) {
            preserveOriginal = settings.preserveOriginal();
            patterns = settings.patterns().stream().map(Pattern::compile).toArray(Pattern[]::new);
        }

        @Override
        public TokenStream create(TokenStream input) {
            return new PatternCaptureGroupTokenFilter(input, preserveOriginal, patterns);
        }
    }

    @NamedComponent("unique")
    public static final class Unique implements TokenFilterFactory {
        @Override
        public TokenStream create(TokenStream input) {
            return new RemoveDuplicatesTokenFilter(input);
        }
    }
}
