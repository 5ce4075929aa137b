# Reference values for ncsi.cbsem from R lavaan (run by hand, outside CI):
#   Rscript tools/lavaan_reference.R
# Needs Debian's r-cran-lavaan (apt-get install r-cran-lavaan). Writes tests/data/lavaan/:
#   hs.data.csv, pd.data.csv (the data sets as lavaan ships them), <model>.params.csv (parameterEstimates with the
#   standardized solution), <model>.fit.csv (fitMeasures), <model>.r2.csv.
# Settings: lavaan::sem() defaults — ML, normal likelihood (biased sample covariance, N), marker
# indicator fixes each factor's scale, expected information, no mean structure, listwise deletion
# (hs-fiml: missing = "ml", full-information ML with a saturated mean structure, lavaan's observed
# information).
# lavaan stops nlminb at its default tolerance; tighter tolerances make nlminb fail on mobi-ecsi,
# whose flat directions are therefore resolved only to ~1e-2 by lavaan (see tests/test_cbsem.py).
suppressMessages(library(lavaan))
out <- "tests/data/lavaan"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

write_ref <- function(name, model, data, estimator = "ML", save_data = FALSE,
                      missing = "listwise") {
  fit <- sem(model, data = data, estimator = estimator, missing = missing)
  stopifnot(lavInspect(fit, "converged"))
  if (save_data) write.csv(data, file.path(out, paste0(name, ".data.csv")), row.names = FALSE)
  pe <- parameterEstimates(fit, standardized = TRUE)
  write.csv(pe[, c("lhs", "op", "rhs", "est", "se", "z", "pvalue", "std.all")],
            file.path(out, paste0(name, ".params.csv")), row.names = FALSE)
  keys <- c("npar", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "cfi", "tli",
            "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr", "logl", "unrestricted.logl",
            "aic", "bic", "ntotal")
  fm <- fitMeasures(fit)
  keys <- keys[keys %in% names(fm)]
  write.csv(data.frame(measure = keys, value = as.numeric(fm[keys])),
            file.path(out, paste0(name, ".fit.csv")), row.names = FALSE)
  r2 <- inspect(fit, "r2")
  write.csv(data.frame(variable = names(r2), r2 = as.numeric(r2)),
            file.path(out, paste0(name, ".r2.csv")), row.names = FALSE)
  cat(name, ": chisq", fm[["chisq"]], "df", fm[["df"]], "\n")
}

hs <- HolzingerSwineford1939[, paste0("x", 1:9)]
write_ref("hs", "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9", hs,
          save_data = TRUE)
write_ref("hs-uls", "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9",
          hs, estimator = "ULS")
write_ref("hs-gls", "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9",
          hs, estimator = "GLS")
write_ref("hs-dwls", "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9",
          hs, estimator = "DWLS")
write_ref("hs-wls", "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9",
          hs, estimator = "WLS")

# FIML: the same data with values removed on a fixed pattern (no randomness)
hs_na <- hs
hs_na[seq(1, 301, by = 7), "x3"] <- NA
hs_na[seq(3, 301, by = 11), "x7"] <- NA
hs_na[seq(5, 301, by = 13), c("x1", "x9")] <- NA
write_ref("hs-fiml", "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9",
          hs_na, missing = "ml", save_data = TRUE)

pd_model <- "
ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
"
write_ref("pd", pd_model, PoliticalDemocracy, save_data = TRUE)

mobi <- read.csv("tests/data/mobi.csv", row.names = 1)
ecsi <- "
IMAG =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
EXPE =~ CUEX1 + CUEX2 + CUEX3
QUAL =~ PERQ1 + PERQ2 + PERQ3 + PERQ4 + PERQ5 + PERQ6 + PERQ7
VAL  =~ PERV1 + PERV2
SAT  =~ CUSA1 + CUSA2 + CUSA3
COMP =~ CUSCO
LOY  =~ CUSL1 + CUSL2 + CUSL3
EXPE ~ IMAG
QUAL ~ EXPE
VAL  ~ EXPE + QUAL
SAT  ~ IMAG + EXPE + QUAL + VAL
COMP ~ SAT
LOY  ~ IMAG + SAT + COMP
"
write_ref("mobi-ecsi", ecsi, mobi)
