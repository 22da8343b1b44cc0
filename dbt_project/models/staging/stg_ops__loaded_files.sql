-- The name each delivered (or reloaded) file was logged under, by its SHA-256.
select
    file_sha256,
    max(file_name) as file_name
from {{ source('ops', 'load_log') }}
where outcome in ('loaded', 'loaded_with_rejects', 'reloaded')
group by file_sha256
