with control_totals as (
    select * from {{ ref('int_control_totals__waived') }}
),

final as (
    select
        extract_id,
        council,
        period,
        level,
        scope,
        measure,
        source_line,
        stated,
        computed,
        difference,
        status,
        explanation,
        parser_status,
        parser_explanation,
        waiver_ids,
        waiver_reason,
        waiver_reviewed_by,
        waiver_reviewed_on
    from control_totals
)

select * from final
