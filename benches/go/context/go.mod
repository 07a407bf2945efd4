module gortcontextbench

go 1.19
