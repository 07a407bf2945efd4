module gortchanbench

go 1.19
